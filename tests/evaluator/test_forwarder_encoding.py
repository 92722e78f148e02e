"""The forwarder's byte-level request encoding matches the parsed regrouping, for any grouping."""

from __future__ import annotations

from judgeval.protocol.otlp_values import to_any_value
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.forwarder import build_request, encode_request
from evaluator_service.packed_spans import pack_spans
from evaluator_service.queue import QueuedSpan


def _envelopes(service: str, scope: str) -> tuple[bytes, bytes]:
    resource = ResourceSpans(
        resource=Resource(attributes=[KeyValue(key="service.name", value=to_any_value(service))]),
        schema_url="https://opentelemetry.io/schemas/1.21.0",
    )
    scope_spans = ScopeSpans(scope=InstrumentationScope(name=scope, version="1"), schema_url="s")
    return resource.SerializeToString(), scope_spans.SerializeToString()


def _span(index: int, payload: str) -> bytes:
    span = Span(trace_id=bytes([index + 1]) * 16, span_id=bytes([index + 1]) * 8, name=f"span-{index}")
    span.attributes.append(KeyValue(key="judgeval.output", value=to_any_value(payload)))
    return span.SerializeToString()


def test_encoded_request_equals_the_regrouped_request() -> None:
    groups = [_envelopes("a", "x"), _envelopes("b", "x"), _envelopes("a", "y")]
    # payload sizes around the varint boundaries (127/128, 16383/16384 bytes)
    sizes = [0, 5, 100, 127, 128, 300, 16_383, 16_384, 70_000]
    rows = [
        QueuedSpan(i, *groups[i % len(groups)], _span(i, "x" * sizes[i % len(sizes)])) for i in range(30)
    ]
    decoded = ExportTraceServiceRequest.FromString(encode_request(rows))
    assert decoded == build_request(rows)
    assert [len(rs.scope_spans) for rs in decoded.resource_spans] == [2, 1]
    assert sum(len(ss.spans) for rs in decoded.resource_spans for ss in rs.scope_spans) == 30


def test_packed_rows_encode_like_the_spans_they_hold() -> None:
    groups = [_envelopes("a", "x"), _envelopes("b", "x")]
    spans = [_span(i, "y" * (i * 40)) for i in range(12)]
    rows = [
        QueuedSpan(1, *groups[0], pack_spans(spans[0:5]), count=5, packed=True),
        QueuedSpan(2, *groups[1], spans[5]),
        QueuedSpan(3, *groups[0], spans[6]),
        QueuedSpan(4, *groups[0], pack_spans(spans[7:12]), count=5, packed=True),
    ]
    decoded = ExportTraceServiceRequest.FromString(encode_request(rows))
    assert decoded == build_request(rows)
    first = decoded.resource_spans[0].scope_spans[0].spans
    assert [s.SerializeToString() for s in first] == [*spans[0:5], spans[6], *spans[7:12]]
    assert [s.name for s in decoded.resource_spans[1].scope_spans[0].spans] == ["span-5"]
