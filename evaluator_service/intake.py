"""The OTLP/gRPC ``TraceService`` the evaluator listens on.

``Export`` sorts each span into "to score" (tagged ``judgeval.eval.status=pending`` or matched by a rule)
or "to forward" (everything else; an untagged one is marked ``not_selected`` on the way, see
:mod:`evaluator_service.unselected`, so it can never loop back through a collector), and answers OK only
after the whole batch is committed to the durable queue in one transaction. It never scores: the dispatcher
does that later. Spans are stored packed, one row per resource, scope and routing (see
:mod:`evaluator_service.queue`). A full queue answers ``UNAVAILABLE``, which OTLP exporters and collectors
retry, and so does a data directory short of free space (nothing of the batch is written); a single export
larger than the whole queue can never fit and answers ``INVALID_ARGUMENT`` naming the limit to raise. Spans
without a valid trace or span id cannot be routed or sampled and are refused through ``partial_success``,
with the reason. A span to score that the queue accepted before (a collector's retry of an export whose
answer it missed) is answered OK but not queued again, and counted (see :mod:`evaluator_service.span_keys`).

OTLP allows an attribute key to repeat. Every span the evaluator reads to route it (one carrying
``judgeval.eval.status`` anywhere, or any span when rules are configured) is stored with its repeated keys
normalized: the last occurrence wins, as everywhere in :mod:`judgeval.protocol.otlp_values`. So a span
forwarded untouched never carries a ``pending`` status behind another value, and enrichment replaces the
one status a scored span carries: nothing the evaluator sends matches the collector's evaluation route.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from judgeval import semconv
from judgeval.protocol.otlp_values import attributes_dict, drop_repeated_keys, find_attribute
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.errors import EvaluatorError
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.queue import (
    MAX_ROW_BYTES,
    BatchTooLargeError,
    DiskFullError,
    NewSpanGroup,
    QueueFullError,
    SpanQueue,
    SpanState,
    span_groups,
)
from evaluator_service.span_keys import span_key
from evaluator_service.span_rules import RuleMatcher
from evaluator_service.trajectories.buffer import BufferFullError
from evaluator_service.trajectories.feed import is_feed_export, marked_copies
from evaluator_service.trajectories.intake import TrajectoryFeedIntake
from evaluator_service.unselected import MARK_OVERHEAD, mark_packed_unselected, mark_unselected

logger = logging.getLogger(__name__)


_STATUS_KEY = semconv.JUDGEVAL_EVAL_STATUS.encode()


@dataclass
class _Batch:
    rows: list[NewSpanGroup] = field(default_factory=list)
    accepted: int = 0
    unselected: int = 0
    rejected: int = 0
    reasons: set[str] = field(default_factory=set)

    def add(self, group: NewSpanGroup) -> None:
        self.rows.append(group)
        self.accepted += group.count


class IntakeRefused(EvaluatorError):
    """An export was refused whole; ``code`` is the OTLP/gRPC status (OTLP/HTTP maps it to its own)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class TraceIntakeServicer(trace_service_pb2_grpc.TraceServiceServicer):
    """Accepts OTLP trace exports into the durable queue."""

    def __init__(
        self, store: SpanQueue, rules: RuleMatcher, metrics: EvaluatorMetrics, on_enqueued: Callable[[], None]
    ) -> None:
        self._store = store
        self._rules = rules
        self._metrics = metrics
        self._on_enqueued = on_enqueued
        self.accepting = True
        self.feed: TrajectoryFeedIntake | None = None
        """Where trajectory-feed exports (the feed header) go; ``None`` refuses them with the reason."""

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        try:
            if is_feed_export(context.invocation_metadata()):
                return await self.ingest_feed(request)
            return await self.ingest(request)
        except IntakeRefused as exc:
            await context.abort(exc.code, str(exc))
            raise  # abort raises; this line only tells type checkers so

    async def ingest(
        self, request: trace_service_pb2.ExportTraceServiceRequest
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        """The one intake path of OTLP/gRPC and OTLP/HTTP: sort, commit, answer. Raises
        :class:`IntakeRefused` when nothing of the request was accepted."""
        if not self.accepting:
            raise IntakeRefused(grpc.StatusCode.UNAVAILABLE, "evaluator is shutting down")
        if self.feed is not None and self.feed.direct:  # no collector feed: buffer the copies here (first:
            copies = marked_copies(request, self.feed.rules)  # sorting rewrites the request)
            if copies is not None:
                await self.ingest_feed(copies)
        batch = self._sort(request)
        if batch.rows:
            try:
                duplicates = await self._store.enqueue(batch.rows)
            except BatchTooLargeError as exc:
                self._metrics.rejected(batch.accepted, "batch_too_large")
                raise IntakeRefused(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
            except DiskFullError as exc:
                self._metrics.rejected(batch.accepted, "disk_full")
                raise IntakeRefused(grpc.StatusCode.UNAVAILABLE, str(exc)) from None
            except QueueFullError as exc:
                self._metrics.rejected(batch.accepted, "queue_full")
                raise IntakeRefused(grpc.StatusCode.UNAVAILABLE, f"{exc}; retry later") from None
            self._metrics.accepted(batch.accepted - duplicates)
            if duplicates:
                self._metrics.duplicates(duplicates)
            if batch.unselected:
                self._metrics.not_selected(batch.unselected)
            self._on_enqueued()
        response = trace_service_pb2.ExportTraceServiceResponse()
        if batch.rejected:
            self._metrics.rejected(batch.rejected, "invalid_id")
            response.partial_success.rejected_spans = batch.rejected
            response.partial_success.error_message = "; ".join(sorted(batch.reasons))
        return response

    async def ingest_feed(
        self, request: trace_service_pb2.ExportTraceServiceRequest
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        """A trajectory-feed export: copies for the trajectory buffer, never forwarded (see
        :mod:`evaluator_service.trajectories.intake`)."""
        if not self.accepting:
            raise IntakeRefused(grpc.StatusCode.UNAVAILABLE, "evaluator is shutting down")
        if self.feed is None:
            raise IntakeRefused(grpc.StatusCode.FAILED_PRECONDITION,
                                "this evaluator does not buffer trajectories; remove the trajectory feed")
        try:
            return await self.feed.ingest(request)
        except BufferFullError as exc:
            raise IntakeRefused(grpc.StatusCode.UNAVAILABLE, str(exc)) from None

    def _sort(self, request: trace_service_pb2.ExportTraceServiceRequest) -> _Batch:
        batch = _Batch()
        for resource_spans in request.resource_spans:
            resource = ResourceSpans(resource=resource_spans.resource, schema_url=resource_spans.schema_url)
            resource_bytes = resource.SerializeToString()
            resource_attrs = attributes_dict(resource_spans.resource.attributes) if self._rules else {}
            for scope_spans in resource_spans.scope_spans:
                scope = ScopeSpans(scope=scope_spans.scope, schema_url=scope_spans.schema_url)
                scope_bytes = scope.SerializeToString()
                self._sort_scope(batch, scope_spans, resource_bytes, scope_bytes, resource_attrs)
        return batch

    def _sort_scope(
        self, batch: _Batch, scope_spans: ScopeSpans, resource: bytes, scope: bytes,
        resource_attrs: dict[str, object],
    ) -> None:
        """One scope's spans as packed rows: those to score, those to forward, the invalid ones refused."""
        # Rules write the tag onto the spans they match, so with rules the spans are serialized after routing.
        packed = None if self._rules else _packed(scope_spans, self._store.row_spans)
        if packed is not None and _STATUS_KEY not in packed:  # the common case: nothing tagged
            batch.add(NewSpanGroup(resource, scope, mark_packed_unselected(packed), len(scope_spans.spans)))
            batch.unselected += len(scope_spans.spans)
            return
        routed = []
        scope_name = scope_spans.scope.name
        normalized = False
        for span in scope_spans.spans:
            problem = _id_problem(span)
            if problem:
                batch.rejected += 1
                batch.reasons.add(problem)
            else:
                normalized = drop_repeated_keys(span.attributes) or normalized
                routed.append((span, self._route(span, resource_attrs, scope_name, batch)))
        keys = [span_key(span.trace_id, span.span_id) for span, s in routed if s is SpanState.SCORE]
        if packed is not None and not normalized and all(state is SpanState.SCORE for _, state in routed):
            batch.add(NewSpanGroup(resource, scope, packed, len(routed), SpanState.SCORE, tuple(keys)))
            return
        for state in (SpanState.SCORE, SpanState.EXPORT):
            spans = [span.SerializeToString() for span, s in routed if s is state]
            start = 0
            for group in span_groups(resource, scope, spans, self._store.row_spans, state):
                if state is SpanState.SCORE:  # each span to score carries its key, for duplicates
                    group = dataclasses.replace(group, keys=tuple(keys[start:start + group.count]))
                    start += group.count
                batch.add(group)

    def _route(
        self, span: Span, resource_attrs: dict[str, object], scope_name: str, batch: _Batch
    ) -> SpanState:
        """Where ``span`` (of the instrumentation scope ``scope_name``) goes; an untagged span no rule
        selects is marked ``not_selected`` (and counted)."""
        status = find_attribute(span.attributes, semconv.JUDGEVAL_EVAL_STATUS)
        if status == semconv.EvalStatus.PENDING:
            return SpanState.SCORE
        if status is not None:
            return SpanState.EXPORT
        if self._rules and self._rules.apply(span, resource_attrs, scope_name):
            return SpanState.SCORE
        mark_unselected(span)
        batch.unselected += 1
        return SpanState.EXPORT


def _packed(scope_spans: ScopeSpans, row_spans: int) -> bytes | None:
    """The scope's spans serialized in one call as one packed row, if they all have valid ids and fit."""
    spans = scope_spans.spans
    if not spans or len(spans) > row_spans or any(_id_problem(span) for span in spans):
        return None
    budget = MAX_ROW_BYTES - len(spans) * MARK_OVERHEAD  # room for marking every span
    # With its envelope cleared, a ScopeSpans serializes as exactly its packed spans. (The caller serialized
    # the envelope already, and the request is ours to change.)
    scope_spans.ClearField("scope")
    scope_spans.ClearField("schema_url")
    packed = scope_spans.SerializeToString()
    return packed if len(packed) <= budget else None


def _id_problem(span: Span) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "span without a valid 16-byte trace_id cannot be routed"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "span without a valid 8-byte span_id cannot be routed"
    return None
