"""Past traffic written straight into a real Jaeger: spans with start times chosen by the test (days ago),
through the OpenTelemetry SDK's OTLP exporter, as an instrumented agent would have sent them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from tests.support.polling import eventually
from tools.localstack.stack import JaegerInstance

SERVICE = "support-agent"


@dataclass
class PastTrace:
    """What one past trace holds: a root ``handle`` span and one LLM ``chat`` span under it."""

    trace_id: str
    root_span_id: str
    chat_span_id: str
    started: datetime


@dataclass
class PastTraffic:
    """Writes past traces of :data:`SERVICE` into Jaeger; :meth:`flush` waits until Jaeger holds them."""

    jaeger: JaegerInstance
    service: str = SERVICE
    resource: Mapping[str, Any] = field(default_factory=dict)
    traces: list[PastTrace] = field(default_factory=list)

    def __post_init__(self) -> None:
        resource = Resource.create({"service.name": self.service, "deployment.environment": "prod",
                                    **self.resource})
        self._provider = TracerProvider(resource=resource)
        exporter = OTLPSpanExporter(endpoint=self.jaeger.otlp_grpc_endpoint, insecure=True)
        self._provider.add_span_processor(SimpleSpanProcessor(exporter))
        self._tracer = self._provider.get_tracer("support.agent", "2.1")

    def add(self, started: datetime, question: str, answer: str,
            chat_attributes: Mapping[str, Any] | None = None) -> PastTrace:
        """One trace started at ``started``: ``handle`` (server) > ``chat gpt-4o`` (client, GenAI)."""
        start_ns = int(started.timestamp() * 1e9)
        root = self._tracer.start_span("handle", kind=SpanKind.SERVER, start_time=start_ns)
        chat = self._tracer.start_span(
            "chat gpt-4o", context=set_span_in_context(root), kind=SpanKind.CLIENT,
            start_time=start_ns + 1_000_000,
            attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 12, "gen_ai.input.messages": question,
                "gen_ai.output.messages": answer, **(chat_attributes or {}),
            },
        )
        chat.add_event("gen_ai.choice", {"index": 0}, timestamp=start_ns + 2_000_000)
        chat.end(end_time=start_ns + 50_000_000)
        root.set_status(Status(StatusCode.ERROR, "upstream failed"))
        root.end(end_time=start_ns + 60_000_000)
        context = chat.get_span_context()
        trace = PastTrace(f"{context.trace_id:032x}", f"{root.get_span_context().span_id:016x}",
                          f"{context.span_id:016x}", started)
        self.traces.append(trace)
        return trace

    def flush(self, expected: Sequence[PastTrace] | None = None) -> None:
        """Wait until Jaeger returns every span written so far (or of ``expected``)."""
        self._provider.force_flush()
        for trace in expected if expected is not None else self.traces:
            eventually(lambda t=trace: len(self.jaeger.query.trace(t.trace_id)) >= 2,  # type: ignore[misc]
                       f"trace {trace.trace_id} in Jaeger")

    def close(self) -> None:
        self._provider.shutdown()
