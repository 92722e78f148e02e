"""The backfill side of a running evaluator: plans and runs backfills with the app's own scorers, runner,
span queue and result-log queue.

::

    backfills = BackfillService(config.backfill, state, uploaded=hosted.source)
    app = RunningEvaluator(..., service_installers=[backfill_installer(backfills, auth), ...])
    backfills.attach(app)          # before app.start(); used once the app has started
    plan = await backfills.plan(spec)
    async for progress in backfills.run(plan, spec.budget).execute(): ...
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from judgeval.protocol.evaluation_request import ScorerRef

from evaluator_service.backfill.estimate import Budget
from evaluator_service.backfill.plan import (
    BackfillPlan,
    BackfillRefused,
    BackfillSpec,
    ResolvedScorer,
    judge_calls_of,
    plan_backfill,
)
from evaluator_service.backfill.run import BackfillRun, ResultSinks
from evaluator_service.backfill.settings import BackfillConfig, jaeger_url_allowed
from evaluator_service.forwarder import SpanForwarder
from evaluator_service.queue import SpanQueue
from evaluator_service.scoring.judge_prices import ModelPrice
from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.scoring.resolution import ScorerChain
from evaluator_service.scoring.runner import ScorerRunner
from evaluator_service.scoring.settings import JudgeConfig
from evaluator_service.state import SharedState, StateUnavailable
from evaluator_service.trajectories.service import TrajectoryScoring

if TYPE_CHECKING:
    from evaluator_service.sandbox.uploaded_source import UploadedScorerSource


class _JudgeSettings(Protocol):
    @property
    def judge(self) -> JudgeConfig: ...


class RunningEvaluator(Protocol):
    """What a backfill uses of the evaluator it runs in (an :class:`~evaluator_service.app.EvaluatorApp`
    is one; typed here so this package stays below the app, whose configuration includes ours)."""

    @property
    def config(self) -> _JudgeSettings: ...

    @property
    def chain(self) -> ScorerChain: ...

    @property
    def runner(self) -> ScorerRunner | None: ...

    @property
    def trajectories(self) -> TrajectoryScoring | None: ...

    @property
    def port(self) -> int: ...

    @property
    def store(self) -> SpanQueue: ...

    @property
    def forwarder(self) -> SpanForwarder: ...

    @property
    def pauses(self) -> PauseRegistry: ...

EXAMPLE_KIND = "example"


class BackfillService:
    """Plans and runs backfills on one evaluator (see the module doc)."""

    def __init__(self, config: BackfillConfig, state: SharedState,
                 uploaded: UploadedScorerSource | None = None,
                 prices: Mapping[str, ModelPrice] | None = None) -> None:
        self.config = config
        self._prices = dict(prices or {})
        """USD per judge model (``judge.prices``): what the estimates and budgets count."""
        self._state = state
        self._uploaded = uploaded
        self._app: RunningEvaluator | None = None

    def attach(self, app: RunningEvaluator) -> None:
        self._app = app

    def _running_app(self) -> RunningEvaluator:
        if self._app is None or self._app.runner is None:
            raise BackfillRefused("unavailable", "the evaluator is still starting; try again")
        return self._app

    def jaeger_url(self, requested: str) -> str:
        """The Jaeger the request names, else the configured one."""
        url = requested.strip() or self.config.jaeger_url
        if not url:
            raise BackfillRefused("failed_precondition", (
                "no Jaeger query URL: pass --jaeger http://HOST:16686 or set backfill.jaeger_url in the "
                "evaluator's config"))
        if not url.startswith(("http://", "https://")):
            raise BackfillRefused("invalid_argument", f"Jaeger query URL {url!r} must start with http:// or "
                                                      "https://")
        if not jaeger_url_allowed(url, self.config):
            raise BackfillRefused("permission_denied", (
                f"Jaeger query URL {url!r} is not allowed: the evaluator reads only backfill.jaeger_url "
                f"({self.config.jaeger_url or 'not set'}) and backfill.allowed_jaeger_urls "
                f"({', '.join(self.config.allowed_jaeger_urls) or 'empty'}); add it there in the "
                "evaluator's config, or leave out --jaeger"))
        return url

    async def plan(self, spec: BackfillSpec) -> BackfillPlan:
        self._running_app()
        try:
            return await plan_backfill(spec, self.config, self.resolve_scorer, self._state, self._prices)
        except StateUnavailable as exc:
            raise BackfillRefused("unavailable", str(exc)) from None

    def run(self, plan: BackfillPlan, budget: Budget) -> BackfillRun:
        app = self._running_app()
        assert app.runner is not None and app.trajectories is not None
        sinks = ResultSinks(app.store, app.forwarder.wake, app.trajectories.result_logs,
                            app.trajectories.log_forwarder.wake)
        return BackfillRun(plan, app.runner, self._state, sinks, budget=budget,
                           concurrency=self.config.concurrency, lease_s=self.config.lease_s,
                           evaluator_id=f"{socket.gethostname()}:{app.port}", paused=app.pauses.reason)

    async def resolve_scorer(self, name: str, version: int | None, threshold: float) -> ResolvedScorer:
        """The scorer ``name`` (at ``version``) as this evaluator would run it for a span."""
        app = self._running_app()
        ref = ScorerRef(name=name, threshold=threshold, version=version)
        scorer = app.chain.resolve(ref)
        config = getattr(scorer, "config", None)
        if scorer is not None and config is not None:  # configured in YAML, or built in
            if version is not None:
                raise BackfillRefused("invalid_argument", f"{name!r} is a configured scorer: it has no "
                                                          f"versions (drop @{version})")
            model = getattr(config, "model", None) or app.config.judge.model
            return ResolvedScorer(ref, "", judge_calls_of(scorer, 0), model)
        return await self._resolve_uploaded(ref)

    async def _resolve_uploaded(self, ref: ScorerRef) -> ResolvedScorer:
        uploaded = self._uploaded
        if uploaded is None:
            raise BackfillRefused("not_found", f"no scorer named {ref.name!r} on this evaluator")
        try:
            await uploaded.registry.refresh()
        except StateUnavailable as exc:
            raise BackfillRefused("unavailable", f"the scorer registry cannot be read: {exc}") from None
        stored = uploaded.registry.find(ref.name, ref.version)
        if stored is None:
            versions = uploaded.registry.versions(ref.name)
            if versions:
                raise BackfillRefused("not_found", f"scorer {ref.name!r} has no version {ref.version} "
                                                   f"(latest is {versions[-1].version})")
            raise BackfillRefused("not_found", f"no scorer named {ref.name!r} on this evaluator (neither "
                                               "configured, built in, nor uploaded)")
        if stored.kind != EXAMPLE_KIND:
            raise BackfillRefused("failed_precondition", (
                f"{ref.name!r} v{stored.version} is a TraceScorer; backfill scores single spans, so it needs "
                "an ExampleScorer"))
        pinned = ScorerRef(name=ref.name, threshold=ref.threshold, version=stored.version)
        assert self._app is not None
        return ResolvedScorer(pinned, str(stored.version), self.config.uploaded_judge_calls_per_span,
                              self._app.config.judge.model)
