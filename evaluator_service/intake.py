"""The OTLP/gRPC ``TraceService`` the evaluator listens on.

``Export`` sorts each span into "to score" (tagged ``judgeval.eval.status=pending`` or matched by a rule)
or "to forward" (everything else), and answers OK only after the whole batch is committed to the durable
queue in one transaction. It never scores: workers do that later. A full queue answers ``UNAVAILABLE``,
which OTLP exporters and collectors retry; a single export larger than the whole queue can never fit and
answers ``INVALID_ARGUMENT`` naming the limit to raise. Spans without a valid trace or span id cannot be
routed or sampled and are refused through ``partial_success``, with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from judgeval import semconv
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.otlp_values import attributes_dict, find_attribute
from evaluator_service.rules import RuleMatcher
from evaluator_service.store import BatchTooLargeError, NewSpan, QueueFullError, SpanState, SpanStore
from evaluator_service.telemetry import EvaluatorMetrics

logger = logging.getLogger(__name__)


@dataclass
class _Batch:
    spans: list[NewSpan] = field(default_factory=list)
    rejected: int = 0
    reasons: set[str] = field(default_factory=set)


class TraceIntakeServicer(trace_service_pb2_grpc.TraceServiceServicer):
    """Accepts OTLP trace exports into the durable queue."""

    def __init__(
        self, store: SpanStore, rules: RuleMatcher, metrics: EvaluatorMetrics, on_enqueued: Callable[[], None]
    ) -> None:
        self._store = store
        self._rules = rules
        self._metrics = metrics
        self._on_enqueued = on_enqueued
        self.accepting = True

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        if not self.accepting:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "evaluator is shutting down")
        batch = self._sort(request)
        if batch.spans:
            try:
                await self._store.enqueue(batch.spans)
            except BatchTooLargeError as exc:
                self._metrics.rejected(len(batch.spans), "batch_too_large")
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            except QueueFullError as exc:
                self._metrics.rejected(len(batch.spans), "queue_full")
                await context.abort(grpc.StatusCode.UNAVAILABLE, f"{exc}; retry later")
            self._metrics.accepted(len(batch.spans))
            self._on_enqueued()
        response = trace_service_pb2.ExportTraceServiceResponse()
        if batch.rejected:
            self._metrics.rejected(batch.rejected, "invalid_id")
            response.partial_success.rejected_spans = batch.rejected
            response.partial_success.error_message = "; ".join(sorted(batch.reasons))
        return response

    def _sort(self, request: trace_service_pb2.ExportTraceServiceRequest) -> _Batch:
        batch = _Batch()
        for resource_spans in request.resource_spans:
            resource = ResourceSpans(resource=resource_spans.resource, schema_url=resource_spans.schema_url)
            resource_bytes = resource.SerializeToString()
            resource_attrs = attributes_dict(resource_spans.resource.attributes) if self._rules else {}
            for scope_spans in resource_spans.scope_spans:
                scope = ScopeSpans(scope=scope_spans.scope, schema_url=scope_spans.schema_url)
                scope_bytes = scope.SerializeToString()
                for span in scope_spans.spans:
                    problem = _id_problem(span)
                    if problem:
                        batch.rejected += 1
                        batch.reasons.add(problem)
                        continue
                    state = self._route(span, resource_attrs)
                    batch.spans.append(NewSpan(state, resource_bytes, scope_bytes, span.SerializeToString()))
        return batch

    def _route(self, span: Span, resource_attrs: dict[str, object]) -> SpanState:
        status = find_attribute(span.attributes, semconv.JUDGEVAL_EVAL_STATUS)
        if status == semconv.EvalStatus.PENDING:
            return SpanState.SCORE
        if status is None and self._rules and self._rules.apply(span, resource_attrs):
            return SpanState.SCORE
        return SpanState.EXPORT


def _id_problem(span: Span) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "span without a valid 16-byte trace_id cannot be routed"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "span without a valid 8-byte span_id cannot be routed"
    return None
