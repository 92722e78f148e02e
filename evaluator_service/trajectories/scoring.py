"""Runs one trajectory request against its trajectory scorer with the span runner's safety rails.

The same semantics as :class:`~evaluator_service.scoring.runner.ScorerRunner` where they apply: the scorer's
name resolves through the sources in order (``unknown_scorer`` when none has it), a paused scorer is not
run (``paused``), every attempt has ``scoring.timeout_s`` or the scorer's ``limits:`` entry (``timeout``),
transient errors and timeouts are retried up to ``scoring.max_retries`` (or its ``limits:``) times with
exponential backoff and full jitter, a scorer's ``rate_limit`` applies, a judge scorer (``calls_judge``)
waits for the judges' shared rate (``scoring.judge_calls_per_s``, one budget with span scoring) and its own
(``judge_calls_per_s_per_scorer``), and a
:class:`~evaluator_service.scoring.contract.FatalScorerError` pauses the scorer durably. :meth:`run` never
raises: every failure becomes a :class:`~evaluator_service.scoring.contract.ScoreResult` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence

from judgeval.data.trace import Trace
from judgeval.protocol.trajectory_request import TrajectoryRequest

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import (
    FatalScorerError,
    ScoreResult,
    ScoringError,
    TrajectoryScorer,
    TrajectoryScorerSource,
)
from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.scoring.rate_budget import TokenBucket
from evaluator_service.scoring.settings import ScorerLimits, ScoringConfig

logger = logging.getLogger(__name__)


class TrajectoryScorerRunner:
    """Scores trajectories: resolve, check pauses, time out, retry, pause on fatal errors."""

    def __init__(
        self,
        sources: Sequence[TrajectoryScorerSource],
        pauses: PauseRegistry | None,
        scoring: ScoringConfig,
        metrics: EvaluatorMetrics,
        limits: Mapping[str, ScorerLimits] | None = None,
        judge_bucket: TokenBucket | None = None,
    ) -> None:
        self.sources = list(sources)
        self._pauses = pauses
        self._scoring = scoring
        self._metrics = metrics
        self._limits = dict(limits or {})
        # shared with span scoring (the app passes the span runner's), so judges see one rate
        self._judge_bucket = judge_bucket or TokenBucket(scoring.judge_calls_per_s)
        self._buckets: dict[str, TokenBucket] = {}

    def _policy(self, name: str) -> tuple[float, int]:
        """Timeout and retries of ``name``: its ``limits:`` entry, else the ``scoring:`` defaults."""
        limit = self._limits.get(name)
        if limit is None:
            return self._scoring.timeout_s, self._scoring.max_retries
        retries = self._scoring.max_retries if limit.max_retries is None else limit.max_retries
        return limit.timeout_s or self._scoring.timeout_s, retries

    async def _wait_for_budget(self, name: str, scorer: TrajectoryScorer) -> None:
        """The scorer's own rate (``limits.<name>.rate_limit``), and for a judge the judges' rates."""
        limit = self._limits.get(name)
        rate = limit.rate_limit if limit is not None else None
        judge = getattr(scorer, "calls_judge", False)
        if rate is None and judge:
            rate = self._scoring.judge_calls_per_s_per_scorer
        if judge:
            await self._judge_bucket.acquire()
        if rate:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = TokenBucket(rate)
            await bucket.acquire()

    def resolve(self, request: TrajectoryRequest) -> TrajectoryScorer | None:
        for source in self.sources:
            scorer = source.resolve(request.scorer)
            if scorer is not None:
                return scorer
        return None

    async def run(self, trace: Trace, request: TrajectoryRequest) -> ScoreResult:
        name, threshold = request.scorer.name, request.scorer.threshold
        scorer = self.resolve(request)
        if scorer is None:
            return self._error(
                name,
                threshold,
                "unknown_scorer",
                f"no trajectory scorer named {name!r} on this evaluator (built-ins, uploaded TraceScorers)",
            )
        started = time.monotonic()
        timeout, retries = self._policy(name)
        attempt = 0
        while True:
            paused = self._pauses.reason(name) if self._pauses is not None else None
            if paused is not None:
                return self._error(name, threshold, "paused", f"scorer is paused: {paused}")
            await self._wait_for_budget(name, scorer)
            try:
                async with asyncio.timeout(timeout):
                    outcome = await scorer.score_trajectory(trace, request)
                self._metrics.scoring_finished(name, elapsed := time.monotonic() - started)
                return ScoreResult(name, threshold, outcome=outcome, latency_s=elapsed,
                                   cost_usd=outcome.cost_usd)
            except TimeoutError:
                kind, message = "timeout", f"no answer within {timeout:g}s"
            except FatalScorerError as exc:
                if self._pauses is not None and self._pauses.reason(name) is None:
                    await self._pauses.pause(name, str(exc) or exc.kind)
                return self._error(name, threshold, exc.kind, str(exc))
            except ScoringError as exc:
                kind, message = exc.kind, str(exc)
            except Exception as exc:  # a scorer's bug fails this trajectory's score, never the sweep
                logger.warning("trajectory scorer %s raised", name, exc_info=True)
                return self._error(name, threshold, "scorer_error", f"{type(exc).__name__}: {exc}")
            if kind not in ("transient", "timeout") or attempt >= retries:
                return self._error(name, threshold, kind, message)
            attempt += 1
            ceiling = min(self._scoring.backoff_max_s, self._scoring.backoff_initial_s * 2 ** (attempt - 1))
            await asyncio.sleep(random.uniform(0, ceiling))

    def _error(self, name: str, threshold: float, kind: str, message: str) -> ScoreResult:
        self._metrics.scoring_error(name, kind)
        return ScoreResult(name, threshold, error_kind=kind, error_message=message)
