"""Hypothesis strategies for OTLP messages and evaluation-request payloads."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import strategies as st
from judgeval import semconv
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

_ids = itertools.count(1)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCORERS = ["regex", "keyword", "json_schema", "pii", "tool_call_error", "answer_relevancy", "no_such_scorer"]


def _leaf() -> st.SearchStrategy[AnyValue]:
    return st.one_of(
        st.text(max_size=40).map(lambda v: AnyValue(string_value=v)),
        INT64.map(lambda v: AnyValue(int_value=v)),
        st.floats(allow_nan=True, allow_infinity=True).map(lambda v: AnyValue(double_value=v)),
        st.booleans().map(lambda v: AnyValue(bool_value=v)),
        st.binary(max_size=40).map(lambda v: AnyValue(bytes_value=v)),
        st.just(AnyValue()),
    )


any_values = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda vs: AnyValue(array_value=ArrayValue(values=vs))),
        st.lists(st.tuples(st.text(max_size=10), inner), max_size=4).map(
            lambda kvs: AnyValue(kvlist_value=KeyValueList(
                values=[KeyValue(key=k, value=v) for k, v in kvs]))),
    ),
    max_leaves=12,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)


@st.composite
def request_payloads(draw: st.DrawFn) -> str:
    """A ``judgeval.eval.requests`` value: mostly well-formed with fuzzed fields, sometimes any JSON/text."""
    shape = draw(st.sampled_from(["requests", "json", "text"]))
    if shape == "text":
        return draw(st.text(max_size=200))
    if shape == "json":
        return json.dumps(draw(json_values))
    items = []
    for _ in range(draw(st.integers(1, 3))):
        item: dict[str, Any] = {
            "scorer": {"name": draw(st.sampled_from(SCORERS) | st.text(max_size=20)),
                       "threshold": draw(st.floats(allow_nan=False) | st.integers(-10, 10) | json_values),
                       "config": draw(st.dictionaries(st.sampled_from(["pattern", "keywords", "schema", "x"]),
                                                      json_values, max_size=2))},
            "example": draw(st.dictionaries(st.sampled_from(["input", "actual_output", "context", "x"]),
                                            json_values, max_size=3)),
        }
        if draw(st.booleans()):
            item[draw(st.text(max_size=8))] = draw(json_values)
        items.append(item)
    return json.dumps(items)


def _attribute_keys() -> st.SearchStrategy[str]:
    known = st.sampled_from(["gen_ai.operation.name", "input", "output", "service.name"])
    return known | st.text(max_size=20)


@st.composite
def attributes(draw: st.DrawFn, tagged: bool) -> list[KeyValue]:
    kvs = [KeyValue(key=k, value=v) for k, v in draw(st.lists(st.tuples(_attribute_keys(), any_values),
                                                                max_size=6))]
    if tagged:
        kvs.append(KeyValue(key=semconv.JUDGEVAL_EVAL_STATUS, value=AnyValue(string_value="pending")))
        payload = draw(request_payloads() | any_values.map(lambda v: v))
        value = AnyValue(string_value=payload) if isinstance(payload, str) else payload
        kvs.append(KeyValue(key=semconv.JUDGEVAL_EVAL_REQUESTS, value=value))
    return kvs


@st.composite
def spans(draw: st.DrawFn) -> tuple[Span, bool]:
    """A span and whether its ids are valid. Valid ids are unique across the run, so every accepted span
    can be found exactly once downstream."""
    kind = draw(st.sampled_from(["valid"] * 6 + ["empty", "short", "zero", "long"]))
    n = next(_ids)
    trace_id, span_id = {
        "valid": ((n | 1 << 100).to_bytes(16, "big"), (n | 1 << 40).to_bytes(8, "big")),
        "empty": (b"", b""),
        "short": (b"\x01" * 15, b"\x01" * 7),
        "zero": (b"\0" * 16, b"\0" * 8),
        "long": (b"\x01" * 17, b"\x01" * 9),
    }[kind]
    span = Span(trace_id=trace_id, span_id=span_id, name=draw(st.text(max_size=30)),
                parent_span_id=draw(st.binary(max_size=9)), kind=draw(st.integers(0, 5)),
                start_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
                end_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
                attributes=draw(attributes(tagged=draw(st.booleans()))))
    return span, kind == "valid"


@st.composite
def export_requests(draw: st.DrawFn) -> tuple[ExportTraceServiceRequest, list[Span]]:
    """A request of 1-3 resources, 1-2 scopes each, 0-4 spans each; returns it with its valid-id spans."""
    request = ExportTraceServiceRequest()
    valid: list[Span] = []
    for _ in range(draw(st.integers(1, 3))):
        resource_spans = ResourceSpans(schema_url=draw(st.text(max_size=10)))
        resource_spans.resource.attributes.extend(draw(attributes(tagged=False)))
        for _ in range(draw(st.integers(1, 2))):
            scope = ScopeSpans()
            scope.scope.name = draw(st.text(max_size=10))
            for span, ok in draw(st.lists(spans(), max_size=4)):
                scope.spans.append(span)
                if ok:
                    valid.append(span)
            resource_spans.scope_spans.append(scope)
        request.resource_spans.append(resource_spans)
    return request, valid
