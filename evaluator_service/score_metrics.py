"""Score metrics with exemplars: a scoring-dispatcher observer recording each evaluation result of a span.

Per result it records the score value (histogram) and the outcome (counter: passed, failed, or error — a
scorer that could not judge is never counted as a failure), labelled by scorer, the scored span's service and
agent. Both are recorded inside a context holding the scored span's ids as a (non-recording, sampled) span
context, so the SDK's default ``trace_based`` exemplar filter (``OTEL_METRICS_EXEMPLAR_FILTER``) attaches
the trace and span id as an exemplar: an alert on these metrics links straight to a trace that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence

from judgeval import semconv
from judgeval.protocol.otlp_values import find_attribute
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import ScoreResult

_SERVICE_CACHE_SIZE = 256
"""Resource envelopes whose ``service.name`` is remembered (a span batch shares one envelope)."""


class ScoreMetricsObserver:
    """Records score metrics of every enriched span (a :data:`~evaluator_service.dispatcher.ScoreObserver`).

    Cheap and non-blocking: only the resource's ``service.name`` is parsed, once per distinct envelope."""

    def __init__(self, metrics: EvaluatorMetrics) -> None:
        self._metrics = metrics
        self._services: dict[bytes, str] = {}

    def __call__(self, span: Span, results: Sequence[ScoreResult], resource_envelope: bytes) -> None:
        if not results or not self._metrics.recording:
            return
        agent = find_attribute(span.attributes, semconv.GEN_AI_AGENT_NAME)
        context = exemplar_context(span)
        for result in results:
            labels = {
                semconv.SCORE_METRIC_LABEL_SCORER: result.scorer_name,
                semconv.SCORE_METRIC_LABEL_SERVICE: self._service(resource_envelope),
                semconv.SCORE_METRIC_LABEL_AGENT: str(agent) if agent is not None else "",
            }
            value = result.outcome.value if result.outcome is not None else None
            self._metrics.score_recorded(labels, outcome_label(result), value, context)

    def _service(self, envelope: bytes) -> str:
        service = self._services.get(envelope)
        if service is None:
            service = ""
            if envelope:
                resource = ResourceSpans.FromString(envelope).resource
                found = find_attribute(resource.attributes, semconv.SERVICE_NAME)
                service = str(found) if found is not None else ""
            if len(self._services) >= _SERVICE_CACHE_SIZE:
                self._services.clear()
            self._services[envelope] = service
        return service


def outcome_label(result: ScoreResult) -> semconv.ScoreOutcomeLabel:
    """Passed or failed for a score; error when the scorer produced none."""
    if result.outcome is None:
        return semconv.ScoreOutcomeLabel.ERROR
    return semconv.ScoreOutcomeLabel.PASSED if result.succeeded else semconv.ScoreOutcomeLabel.FAILED


def exemplar_context(span: Span) -> Context | None:
    """A context whose current span is the scored span (by id only), or ``None`` for invalid ids.

    Marked sampled: the span was exported, and the ``trace_based`` exemplar filter keeps sampled ones only."""
    span_context = SpanContext(
        int.from_bytes(span.trace_id, "big"), int.from_bytes(span.span_id, "big"), is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    if not span_context.is_valid:
        return None
    return trace.set_span_in_context(NonRecordingSpan(span_context), Context())
