"""The ``judgeval.admin.v1.Backfill`` gRPC service: estimate and run backfills
(:mod:`evaluator_service.backfill`).

Authenticated like every admin service (:class:`~evaluator_service.admin.auth.AdminAuth`). The request is
checked first (``INVALID_ARGUMENT`` names the field), then planned; a refusal answers the status its
:class:`~evaluator_service.backfill.plan.BackfillRefused` names, with its message (an unreachable Jaeger is
``UNAVAILABLE`` naming its URL). ``RunBackfill`` streams a progress message after every scored span and
a final one with ``finished`` set; cancelling the call stops the run.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import grpc
from judgeval.admin.v1 import backfill_pb2 as pb
from judgeval.admin.v1 import backfill_pb2_grpc as pb_grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.backfill.estimate import Budget
from evaluator_service.backfill.plan import BackfillPlan, BackfillRefused, BackfillSpec
from evaluator_service.backfill.run import BackfillProgress
from evaluator_service.backfill.selection import SpanFilter
from evaluator_service.backfill.service import BackfillService

_PURPOSE = "backfills"
DEFAULT_LIST = 10
MAX_LIST = 1000
_CODES = {
    "invalid_argument": grpc.StatusCode.INVALID_ARGUMENT, "not_found": grpc.StatusCode.NOT_FOUND,
    "failed_precondition": grpc.StatusCode.FAILED_PRECONDITION, "unavailable": grpc.StatusCode.UNAVAILABLE,
    "permission_denied": grpc.StatusCode.PERMISSION_DENIED,
}


class BackfillServicer(pb_grpc.BackfillServicer):
    """Async servicer over a :class:`~evaluator_service.backfill.service.BackfillService`."""

    def __init__(self, backfills: BackfillService, auth: AdminAuth | str | None) -> None:
        self._backfills = backfills
        self._auth = AdminAuth.of(auth)

    async def EstimateBackfill(self, request: pb.BackfillRequest, context: grpc.aio.ServicerContext
                               ) -> pb.BackfillEstimate:
        await self._auth.authorize(context, _PURPOSE)
        spec = await self._spec(request, context)
        plan = await self._plan(spec, context)
        listed = request.list_limit or DEFAULT_LIST
        return estimate_message(spec, plan, min(listed, MAX_LIST))

    async def RunBackfill(self, request: pb.BackfillRequest, context: grpc.aio.ServicerContext
                          ) -> AsyncIterator[pb.BackfillProgress]:
        await self._auth.authorize(context, _PURPOSE)
        spec = await self._spec(request, context)
        plan = await self._plan(spec, context)
        run = self._backfills.run(plan, spec.budget)
        async for progress in run.execute():
            yield progress_message(progress)

    async def _spec(self, request: pb.BackfillRequest, context: grpc.aio.ServicerContext) -> BackfillSpec:
        try:
            return spec_of(request, self._backfills.jaeger_url(request.jaeger_url))
        except BackfillRefused as exc:
            await context.abort(_CODES[exc.code], str(exc))
        raise AssertionError("context.abort raises")

    async def _plan(self, spec: BackfillSpec, context: grpc.aio.ServicerContext) -> BackfillPlan:
        try:
            return await self._backfills.plan(spec)
        except BackfillRefused as exc:
            await context.abort(_CODES[exc.code], str(exc))
        raise AssertionError("context.abort raises")


def spec_of(request: pb.BackfillRequest, jaeger_url: str) -> BackfillSpec:
    """The request checked; :class:`BackfillRefused` (``invalid_argument``) names the bad field."""
    def bad(message: str) -> BackfillRefused:
        return BackfillRefused("invalid_argument", message)

    if not request.scorer.strip():
        raise bad("scorer: required")
    if not request.service.strip():
        raise bad("service: required (Jaeger searches one service at a time)")
    if not request.HasField("start"):
        raise bad("start: required (the oldest span to score)")
    start = request.start.ToDatetime(tzinfo=UTC)
    end = request.end.ToDatetime(tzinfo=UTC) if request.HasField("end") else datetime.now(UTC)
    if end <= start:
        raise bad(f"the time range is empty: end {end.isoformat()} is not after start {start.isoformat()}")
    if request.scorer_version < 0 or request.max_judge_calls < 0 or request.list_limit < 0:
        raise bad("scorer_version, max_judge_calls and list_limit must not be negative")
    if not math.isfinite(request.max_cost_usd) or request.max_cost_usd < 0:
        raise bad(f"max_cost_usd must be a positive number, got {request.max_cost_usd}")
    threshold = request.threshold if request.HasField("threshold") else 0.5
    if not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
        raise bad(f"threshold must be between 0 and 1, got {threshold}")
    for key in request.tags:
        if not key.strip():
            raise bad("tags: a tag key is empty")
    budget = Budget(request.max_judge_calls or None, request.max_cost_usd or None)
    span_filter = SpanFilter(request.service.strip(), start, end, request.operation or None,
                             dict(request.tags))
    return BackfillSpec(request.scorer.strip(), request.scorer_version or None, span_filter, jaeger_url,
                        budget, threshold)


def estimate_message(spec: BackfillSpec, plan: BackfillPlan, listed: int) -> pb.BackfillEstimate:
    reply = pb.BackfillEstimate(
        scorer=plan.scorer.ref.name, scorer_version=plan.scorer.version, jaeger_url=spec.jaeger_url,
        traces_read=plan.traces_read, spans_matched=plan.spans_matched,
        already_backfilled=plan.already_backfilled, already_scored_live=plan.already_scored_live,
        spans_to_score=len(plan.spans), judge_calls=plan.judge_calls, input_tokens=plan.input_tokens,
        cost_usd=plan.cost_usd, model=plan.scorer.model or "", spans_within_budget=plan.within(spec.budget),
        priced=plan.priced,
    )
    for planned in plan.spans[:listed]:
        item = reply.spans.add(trace_id=planned.stored.trace_id, span_id=planned.stored.span_id,
                               name=planned.stored.name, judge_calls=planned.cost.judge_calls,
                               cost_usd=planned.cost.cost_usd)
        item.start.FromNanoseconds(planned.stored.span.start_time_unix_nano)
    return reply


def progress_message(progress: BackfillProgress) -> pb.BackfillProgress:
    return pb.BackfillProgress(
        run_id=progress.run_id, spans_to_score=progress.spans_to_score, scored=progress.scored,
        passed=progress.passed, failed=progress.failed, errors=progress.errors,
        skipped_claimed=progress.skipped_claimed, judge_calls=progress.judge_calls,
        cost_usd=progress.cost_usd, finished=progress.finished, stopped_by_budget=progress.stopped_by_budget,
        error_samples=progress.error_samples, results_written=progress.results_written,
        stopped_reason=progress.stopped_reason,
    )


def backfill_installer(backfills: BackfillService, auth: AdminAuth | str | None
                       ) -> Callable[[grpc.aio.Server], None]:
    """A service installer adding the Backfill API to the evaluator's gRPC server."""

    def install(server: grpc.aio.Server) -> None:
        pb_grpc.add_BackfillServicer_to_server(BackfillServicer(backfills, auth), server)

    return install
