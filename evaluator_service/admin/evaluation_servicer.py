"""The ``judgeval.admin.v1.Evaluation`` gRPC service: replay examples through a scorer, server side.

``judgeval eval run`` and ``judgeval.evaluation.evaluate_dataset`` send examples (a dataset's stored
interactions, read through the Datasets API, or a fixed agent's new outputs for them) and read back one
result per example as it is scored, which is what their progress bars count. The scorer is resolved and
run exactly as for live spans (the evaluator's scorer chain; uploaded scorers in the sandbox; the production
runner's timeouts, retries and judge-call limits), with its own runner so replays neither count in the
evaluator's production metrics nor share its per-span budgets. Authenticated exactly like ``ScorerAdmin``
(:class:`~evaluator_service.admin.auth.AdminAuth`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import grpc
from judgeval.admin.v1 import evaluation_pb2 as pb
from judgeval.admin.v1 import evaluation_pb2_grpc as pb_grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.replay.cases import MAX_CASES_PER_CALL, ReplayCase, ReplayPauses, score_cases
from evaluator_service.replay.run_tally import ReplayTally
from evaluator_service.replay.scorer_choice import ReplayRefused, choose_scorer
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.scoring.runner import ScorerRunner
from evaluator_service.state import StateUnavailable
from evaluator_service.state.replay_runs import ReplayRunCall

if TYPE_CHECKING:
    from evaluator_service.app import EvaluatorApp

_log = logging.getLogger(__name__)
_PURPOSE = "replays (judgeval eval run)"
MAX_ID_CHARS = 500
RECORD_EVERY_S = 1.0
"""A running replay call adds its finished cases to its recorded run at most this often (and when it ends)."""
_CODES = {"not_found": grpc.StatusCode.NOT_FOUND, "precondition": grpc.StatusCode.FAILED_PRECONDITION}


class EvaluationServicer(pb_grpc.EvaluationServicer):
    """Async servicer scoring replay cases with ``app``'s scorer chain and pauses (read once it started)."""

    def __init__(self, app: EvaluatorApp, auth: AdminAuth | str | None) -> None:
        self._app = app
        self._auth = AdminAuth.of(auth)
        self._runner: ScorerRunner | None = None

    def _scorer_runner(self) -> ScorerRunner:
        if self._runner is None:
            cfg = self._app.config
            self._runner = ScorerRunner(self._app.chain, ReplayPauses(self._app.pauses), cfg.scoring,
                                        cfg.scorer_limits(), EvaluatorMetrics.create(None))
        return self._runner

    async def RunEvaluation(self, request: pb.RunEvaluationRequest, context: grpc.aio.ServicerContext
                            ) -> AsyncIterator[pb.EvaluationEvent]:
        await self._auth.authorize(context, _PURPOSE)
        cases = await _cases(request, context)
        config = await _config(request, context)
        version = request.scorer_version if request.HasField("scorer_version") else None
        try:
            scorer = await choose_scorer(self._app.chain, request.scorer, version, config)
        except ReplayRefused as exc:
            await context.abort(_CODES[exc.reason], str(exc))
            raise AssertionError("context.abort raises") from exc
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise AssertionError("context.abort raises") from exc
        paused = self._app.pauses.reason(request.scorer)
        if paused is not None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                f"scorer {request.scorer!r} is paused: {paused}; resume it to replay")
        yield pb.EvaluationEvent(started=pb.EvaluationStarted(
            scorer=scorer.ref.name, scorer_version=scorer.version, scorer_source=scorer.source,
            cases=len(cases)))
        tally = ReplayTally({c.id: c.production_passed for c in request.cases
                             if c.HasField("production_passed")}, request.run_id)
        dataset_version = request.dataset_version if request.HasField("dataset_version") else None

        def part(ends_call: bool) -> ReplayRunCall:
            return tally.take(at=time.time(), scorer=scorer.ref.name, scorer_version=scorer.version,
                              scorer_source=scorer.source, dataset=request.dataset.strip(),
                              dataset_version=dataset_version,
                              planned_cases=max(request.run_cases, len(cases)), ends_call=ends_call)

        results = score_cases(self._scorer_runner(), scorer, cases, self._app.config.scoring.concurrency)
        recorded_at = time.monotonic()
        try:
            async for case, result in results:
                tally.add(case.id, result.passed)
                if time.monotonic() - recorded_at >= RECORD_EVERY_S:
                    await self._record(part(ends_call=False))  # an evaluator restart keeps these cases
                    recorded_at = time.monotonic()
                yield pb.EvaluationEvent(result=_result_message(case.id, result))
        finally:
            await results.aclose()  # a client that went away cancels the cases still running
            if tally.pending or tally.recorded.cases:
                # finished or cut short: the cases that finished are recorded (the run shows incomplete)
                await self._record(part(ends_call=True))
        yield pb.EvaluationEvent(finished=pb.EvaluationFinished(scored=tally.scored, errors=tally.errors))

    async def _record(self, call: ReplayRunCall) -> None:
        """Add a call's finished cases to its run in the shared state; an outage loses the record, not the
        replay (logged with the counts)."""
        try:
            await self._app.shared_state.record_replay_call(call, self._app.config.replay.max_runs)
        except StateUnavailable as exc:
            _log.warning("replay run %s of scorer %r not recorded (%d cases, %d passed, %d errors): %s",
                         call.run_id, call.scorer, call.cases, call.passed, call.errors, exc)


async def _cases(request: pb.RunEvaluationRequest, context: grpc.aio.ServicerContext) -> list[ReplayCase]:
    problem = ""
    if not request.scorer.strip():
        problem = "scorer must be a non-empty name"
    elif not request.cases:
        problem = "no cases to score"
    elif len(request.cases) > MAX_CASES_PER_CALL:
        problem = f"at most {MAX_CASES_PER_CALL} cases per call, got {len(request.cases)}; split the run"
    ids = [case.id for case in request.cases]
    if not problem and len(set(ids)) != len(ids):
        problem = "case ids must be unique within a call"
    if not problem and any(not i or len(i) > MAX_ID_CHARS for i in ids):
        problem = f"case ids must be 1 to {MAX_ID_CHARS} characters"
    if problem:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
    return [ReplayCase(c.id, c.example_json, c.threshold) for c in request.cases]


async def _config(request: pb.RunEvaluationRequest, context: grpc.aio.ServicerContext) -> dict[str, Any]:
    if not request.scorer_config_json:
        return {}
    try:
        config = json.loads(request.scorer_config_json)
    except (ValueError, RecursionError) as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"scorer config is not valid JSON: {exc}")
        raise AssertionError("context.abort raises") from exc
    if not isinstance(config, dict):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                            f"scorer config must be a JSON object, got {type(config).__name__}")
    return config  # type: ignore[no-any-return]


def _result_message(case_id: str, result: ScoreResult) -> pb.CaseResult:
    if result.outcome is None:
        return pb.CaseResult(id=case_id, reason=result.error_message, error_kind=result.error_kind or "error")
    return pb.CaseResult(id=case_id, score=result.outcome.value, passed=result.succeeded,
                         reason=result.outcome.reason or "")


def evaluation_installer(app: Callable[[], EvaluatorApp], auth: AdminAuth | str | None
                         ) -> Callable[[grpc.aio.Server], None]:
    """A service installer adding the Evaluation API to the evaluator's gRPC server. ``app`` returns the
    evaluator (called when the server is built, so the installer can be listed in the app's own
    constructor call)."""

    def install(server: grpc.aio.Server) -> None:
        pb_grpc.add_EvaluationServicer_to_server(EvaluationServicer(app(), auth), server)

    return install
