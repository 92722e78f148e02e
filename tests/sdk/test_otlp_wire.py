"""judgeval's OTLP wire encoder must mean exactly what the stock encoder means, for every span field."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from judgeval.testing import OtlpTraceReceiver
from judgeval.tracer._exporters import create_exporter
from judgeval.tracer._otlp_wire import encode_any_value, encode_export_request, varint
from judgeval.tracer._wire_exporter import WireOtlpSpanExporter
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)


def _provider(resource: Resource, exporter: InMemorySpanExporter, **limits: int) -> TracerProvider:
    provider = TracerProvider(resource=resource, span_limits=SpanLimits(**limits), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
def varied_spans() -> Iterator[list[ReadableSpan]]:
    """Spans using every field: two resources, scopes with and without version/schema/attributes, all
    attribute value types, events, links, remote parents with trace state, statuses, dropped counts."""
    exporter = InMemorySpanExporter()
    first = _provider(Resource({"service.name": "a", "n": 1}, "https://schema/1"), exporter,
                      max_attributes=6, max_events=2, max_links=1)
    second = _provider(Resource({"service.name": "b"}), exporter)
    plain = first.get_tracer("plain")
    versioned = first.get_tracer("versioned", "1.2.3", schema_url="https://schema/s",
                                 attributes={"scope.attr": "x"})
    remote = SpanContext(0xABCDEF0123456789ABCDEF0123456789, 0x1122334455667788, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED),
                         trace_state=TraceState([("vendor", "value"), ("k", "v")]))
    with plain.start_as_current_span("root", kind=SpanKind.SERVER, attributes={
        "str": "héllo ✓", "empty": "", "t": True, "f": False, "zero": 0, "neg": -42, "big": 2**62,
        "float": 1.5,
    }) as root:
        root.set_attribute("over.limit", "dropped")  # max_attributes=6: counts as dropped
        for i in range(3):  # max_events=2: one dropped
            root.add_event(f"event {i}", {"i": i, "seq": [1, 2, 3]})
        root.set_status(Status(StatusCode.ERROR, "it broke"))
    with versioned.start_span("child", context=set_span_in_context(NonRecordingSpan(remote)),
                              kind=SpanKind.CLIENT,
                              links=[Link(remote, {"why": "retry"}), Link(remote)]) as child:
        child.set_attributes({"strs": ("a", "b"), "ints": [1, -2], "floats": [0.5], "bools": [True, False]})
        child.set_status(Status(StatusCode.OK))
    for kind in (SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER):
        second.get_tracer("other").start_span("", kind=kind).end()  # no name, unset status
    yield list(exporter.get_finished_spans())
    first.shutdown()
    second.shutdown()


def test_request_parses_to_what_the_stock_encoder_builds(varied_spans: list[ReadableSpan]):
    ours = ExportTraceServiceRequest.FromString(encode_export_request(varied_spans))
    assert ours == encode_spans(varied_spans)
    # the fixture really exercised the optional fields
    spans = [s for rs in ours.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert any(s.dropped_attributes_count for s in spans)
    assert any(s.dropped_events_count and s.events for s in spans)
    assert any(s.links and s.trace_state and s.flags & 0x200 for s in spans)


def test_an_unencodable_attribute_is_left_out_like_the_stock_encoder_does(caplog: pytest.LogCaptureFixture):
    exporter = InMemorySpanExporter()
    provider = _provider(Resource({}), exporter)
    provider.get_tracer("t").start_span("s", attributes={"ok": 1, "too.big": 2**70}).end()
    spans = list(exporter.get_finished_spans())
    with caplog.at_level(logging.WARNING, logger="judgeval"):
        ours = ExportTraceServiceRequest.FromString(encode_export_request(spans))
    assert "too.big" in caplog.text
    assert ours == encode_spans(spans)
    assert [kv.key for kv in ours.resource_spans[0].scope_spans[0].spans[0].attributes] == ["ok"]
    provider.shutdown()


def _array(*values: AnyValue) -> AnyValue:
    return AnyValue(array_value=ArrayValue(values=values))


def _kvlist(key: str, value: AnyValue) -> AnyValue:
    return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=key, value=value)]))


@pytest.mark.parametrize(("value", "expected"), [
    (None, AnyValue()), (True, AnyValue(bool_value=True)), (False, AnyValue(bool_value=False)),
    (0, AnyValue(int_value=0)), (300, AnyValue(int_value=300)), (-1, AnyValue(int_value=-1)),
    (-(2**63), AnyValue(int_value=-(2**63))), (2**63 - 1, AnyValue(int_value=2**63 - 1)),
    (0.0, AnyValue(double_value=0.0)), (-2.25, AnyValue(double_value=-2.25)),
    (float("inf"), AnyValue(double_value=float("inf"))), ("", AnyValue(string_value="")),
    ("ü" * 200, AnyValue(string_value="ü" * 200)), (b"\x00\xff", AnyValue(bytes_value=b"\x00\xff")),
    (["a", 1, None], _array(AnyValue(string_value="a"), AnyValue(int_value=1), AnyValue())),
    ([], _array()),
    ({"k": [1]}, _kvlist("k", _array(AnyValue(int_value=1)))),
])
def test_any_value_encodes_as_the_otlp_spec_says(value: object, expected: AnyValue):
    decoded = AnyValue.FromString(encode_any_value(value))
    assert decoded == expected
    assert decoded.WhichOneof("value") == expected.WhichOneof("value")  # e.g. False is set, not absent


def test_varint_round_trips_through_protobuf():
    for n in (0, 1, 127, 128, 16383, 16384, 2**32, 2**64 - 1):
        assert AnyValue.FromString(b"\x18" + varint(n)).int_value == (n if n < 2**63 else n - 2**64)


def test_the_default_grpc_exporter_uses_the_wire_encoder_and_delivers(receiver: OtlpTraceReceiver,
                                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://{receiver.endpoint}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    exporter = create_exporter()
    assert isinstance(exporter, WireOtlpSpanExporter)
    provider = TracerProvider(resource=Resource({"service.name": "wire"}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("delivered", attributes={"a": "b"}):
        pass
    provider.shutdown()
    spans = receiver.wait_for(lambda spans: any(s.name == "delivered" for s in spans))
    assert [s.attributes["a"] for s in spans if s.name == "delivered"] == ["b"]
