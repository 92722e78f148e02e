"""Span builders and span lookups: OTLP protobuf spans as a collector would send them, and SDK spans."""

from __future__ import annotations

import itertools
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.protocol.otlp_values import to_any_value
from judgeval.testing.otlp_receiver import ReceivedSpan
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_ids = itertools.count(1)


def make_span(name: str, attributes: dict[str, Any] | None = None, trace_id: bytes | None = None) -> Span:
    """A finished span with fresh ids (or the given trace id)."""
    n = next(_ids)
    span = Span(
        trace_id=trace_id or n.to_bytes(16, "big"),
        span_id=n.to_bytes(8, "big"),
        name=name,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_001_000_000_000,
    )
    for key, value in (attributes or {}).items():
        kv = span.attributes.add()
        kv.key = key
        kv.value.CopyFrom(to_any_value(value))
    return span


def tagged_attributes(
    *requests: tuple[str, dict[str, Any]], threshold: float = 0.5, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Attributes ``async_evaluate`` would set for (scorer name, example) pairs."""
    encoded = encode_requests(
        [
            EvaluationRequest(ScorerRef(name=name, threshold=threshold, config=config or {}), example)
            for name, example in requests
        ]
    )
    return {
        semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
        semconv.JUDGEVAL_EVAL_REQUESTS: encoded,
    }


def make_request(
    spans: list[Span],
    service: str = "agent",
    scope: str = "judgeval",
    resource_extra: dict[str, Any] | None = None,
) -> trace_service_pb2.ExportTraceServiceRequest:
    """One resource, one scope, the given spans."""
    resource = Resource()
    for key, value in {semconv.SERVICE_NAME: service, **(resource_extra or {})}.items():
        kv = resource.attributes.add()
        kv.key = key
        kv.value.CopyFrom(to_any_value(value))
    scope_spans = ScopeSpans(
        scope=InstrumentationScope(name=scope, version="1.0"),
        spans=spans,
        schema_url="https://opentelemetry.io/schemas/1.30.0",
    )
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope_spans], schema_url="res-schema")]
    )


def by_name(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    """The one received span called ``name`` (fails the test unless there is exactly one)."""
    matches = [s for s in spans if s.name == name]
    assert len(matches) == 1, f"expected one span {name!r}, got {len(matches)}"
    return matches[0]


def names(spans: list[ReceivedSpan]) -> list[str]:
    """The sorted names of received spans."""
    return sorted(s.name for s in spans)


def spans_by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    """The SDK spans an in-memory exporter holds, by name (the last one wins)."""
    return {span.name: span for span in exporter.get_finished_spans()}
