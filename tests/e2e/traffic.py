"""Agent-like traffic for the end-to-end tests: traces whose child span asks for a built-in score."""

from __future__ import annotations

from dataclasses import dataclass

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tools.localstack.jaeger_query import JaegerQuery, JaegerSpan

SERVICE = "e2e-traffic"
SCORER = "pii"


@dataclass
class Traffic:
    """Sends traces of an untagged root and children tagged for a scorer (by default the built-in ``pii``)."""

    endpoint: str

    def __post_init__(self) -> None:
        self._provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: SERVICE}))
        exporter = OTLPSpanExporter(endpoint=self.endpoint, insecure=True)
        self._provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
        self._tracer = self._provider.get_tracer("e2e")
        self.trace_ids: list[str] = []
        self.spans_per_trace = 2

    def send(self, count: int, answers_per_trace: int = 1, request: EvaluationRequest | None = None) -> None:
        """Send ``count`` traces: an untagged ``agent-run`` root with ``answer`` children tagged with
        ``request`` (default: the ``pii`` scorer on alternately clean and personal text)."""
        for index in range(count):
            with self._tracer.start_as_current_span("agent-run") as root:
                for _ in range(answers_per_trace):
                    with self._tracer.start_as_current_span("answer") as child:
                        child.set_attribute(semconv.JUDGEVAL_EVAL_STATUS, semconv.EvalStatus.PENDING.value)
                        text = "mail me at jo@example.com" if index % 2 else "your parcel ships today"
                        pii = EvaluationRequest(ScorerRef(name=SCORER), example={"actual_output": text})
                        child.set_attribute(semconv.JUDGEVAL_EVAL_REQUESTS, encode_requests([request or pii]))
            self.trace_ids.append(f"{root.get_span_context().trace_id:032x}")
            self.spans_per_trace = 1 + answers_per_trace
        assert self._provider.force_flush(30_000)

    def close(self) -> None:
        self._provider.shutdown()


def fetch_all(query: JaegerQuery, traffic: Traffic, timeout: float = 120) -> dict[str, list[JaegerSpan]]:
    """Every trace sent, once Jaeger holds all its spans with every ``answer`` scored."""

    def complete(spans: list[JaegerSpan]) -> bool:
        answers = [s for s in spans if s.name == "answer"]
        scored = all(semconv.JUDGEVAL_EVAL_STATUS in s.attributes for s in answers)
        return len(spans) >= traffic.spans_per_trace and scored

    return {t: query.wait_for_trace(t, complete, timeout) for t in traffic.trace_ids}
