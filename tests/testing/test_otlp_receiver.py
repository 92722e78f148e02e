"""The in-process OTLP receiver accepts real exporter traffic and can simulate an outage."""

from __future__ import annotations

import grpc
from judgeval.testing import OtlpTraceReceiver
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult


def _provider(receiver: OtlpTraceReceiver) -> tuple[TracerProvider, OTLPSpanExporter]:
    exporter = OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True, timeout=2)
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_receives_and_flattens_spans() -> None:
    with OtlpTraceReceiver() as receiver:
        provider, _ = _provider(receiver)
        tracer = provider.get_tracer("scope-a")
        with tracer.start_as_current_span("parent") as parent:
            parent.add_event("evt", {"k": 1})
            with tracer.start_as_current_span("child", attributes={"tags": ["a", "b"]}):
                pass
        spans = receiver.wait_for(lambda s: len(s) == 2)
        provider.shutdown()
    by_name = {s.name: s for s in spans}
    assert by_name["child"].parent_span_id == by_name["parent"].span_id
    assert by_name["child"].attributes == {"tags": ["a", "b"]}
    assert by_name["parent"].events == [("evt", {"k": 1})]
    assert by_name["parent"].resource["service.name"] == "svc"
    assert by_name["parent"].scope == "scope-a"


def test_unavailable_receiver_refuses_exports() -> None:
    with OtlpTraceReceiver() as receiver:
        receiver.unavailable = True
        exporter = OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True, timeout=1)
        provider = TracerProvider()
        span = provider.get_tracer("t").start_span("x")
        span.end()
        assert exporter.export([span]) == SpanExportResult.FAILURE  # type: ignore[list-item]
        assert receiver.spans == []
        assert receiver.refused_exports >= 1


def test_refused_exports_are_counted_once_each() -> None:
    with OtlpTraceReceiver() as receiver:
        receiver.refuse_with = grpc.StatusCode.PERMISSION_DENIED  # not retried by the stock exporter
        exporter = OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True, timeout=5)
        provider = TracerProvider()
        for name in ("first", "second"):
            span = provider.get_tracer("t").start_span(name)
            span.end()
            assert exporter.export([span]) == SpanExportResult.FAILURE  # type: ignore[list-item]
        assert receiver.refused_exports == 2
        receiver.refuse_with = None
        span = provider.get_tracer("t").start_span("accepted")
        span.end()
        assert exporter.export([span]) == SpanExportResult.SUCCESS  # type: ignore[list-item]
        assert receiver.refused_exports == 2
        assert [s.name for s in receiver.spans] == ["accepted"]
        exporter.shutdown()
