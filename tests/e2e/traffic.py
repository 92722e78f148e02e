"""Agent-like traffic for the end-to-end tests: traces whose child span asks for a built-in score."""

from __future__ import annotations

from dataclasses import dataclass

from judgeval import semconv
from judgeval.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from evaluator_service.localstack.jaeger_query import JaegerQuery, JaegerSpan

SERVICE = "e2e-traffic"
SCORER = "pii"


@dataclass
class Traffic:
    """Sends traces of two spans (an untagged root and a child tagged for the ``pii`` scorer)."""

    endpoint: str

    def __post_init__(self) -> None:
        self._provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: SERVICE}))
        exporter = OTLPSpanExporter(endpoint=self.endpoint, insecure=True)
        self._provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
        self._tracer = self._provider.get_tracer("e2e")
        self.trace_ids: list[str] = []

    def send(self, count: int) -> None:
        for index in range(count):
            with (
                self._tracer.start_as_current_span("agent-run") as root,
                self._tracer.start_as_current_span("answer") as child,
            ):
                child.set_attribute(semconv.JUDGEVAL_EVAL_STATUS, semconv.EvalStatus.PENDING.value)
                text = "mail me at jo@example.com" if index % 2 else "your parcel ships today"
                request = EvaluationRequest(ScorerRef(name=SCORER), example={"actual_output": text})
                child.set_attribute(semconv.JUDGEVAL_EVAL_REQUESTS, encode_requests([request]))
            self.trace_ids.append(f"{root.get_span_context().trace_id:032x}")
        assert self._provider.force_flush(30_000)

    def close(self) -> None:
        self._provider.shutdown()


def complete(spans: list[JaegerSpan]) -> bool:
    """Both spans of a traffic trace are in Jaeger and the child carries its score."""
    answers = [s for s in spans if s.name == "answer"]
    return (
        len(spans) >= 2
        and bool(answers)
        and all(semconv.JUDGEVAL_EVAL_STATUS in s.attributes for s in answers)
    )


def fetch_all(query: JaegerQuery, trace_ids: list[str], timeout: float = 120) -> dict[str, list[JaegerSpan]]:
    """Every trace, once Jaeger holds it complete."""
    return {t: query.wait_for_trace(t, complete, timeout) for t in trace_ids}
