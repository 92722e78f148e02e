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


@st.composite
def huge_integers(draw: st.DrawFn) -> str:
    """A JSON integer of thousands of digits, as text (past Python's 4,300-digit ``int`` parsing limit
    too), e.g. ``-777...7``."""
    digits = draw(st.sampled_from("123456789")) * draw(st.integers(1_000, 6_000))
    return ("-" if draw(st.booleans()) else "") + digits


@st.composite
def deep_json(draw: st.DrawFn) -> str:
    """JSON nested hundreds to thousands of levels deep, as text (``json.dumps`` cannot build it)."""
    depth = draw(st.integers(200, 5_000))
    if draw(st.booleans()):
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "0" + "}" * depth


LONE_SURROGATES = st.sampled_from(["\\ud800", "\\udfff", "x\\ud83dy", "\\ud83d\\ud83d"])
"""JSON escapes of lone surrogates (valid JSON, but no UTF-8 can carry the string they decode to)."""


@st.composite
def hostile_payloads(draw: st.DrawFn) -> str:
    """A ``judgeval.eval.requests`` value as an attacker writes it: deeply nested JSON, integers of thousands
    of digits (as thresholds, examples, options), lone surrogates in names, examples and the options a
    scorer echoes in its reason (keywords, patterns), around otherwise valid requests."""
    if draw(st.integers(0, 5)) == 0:
        return draw(deep_json() | huge_integers())
    holes: dict[str, str] = {}

    def hole(text: str) -> str:
        marker = f"__hole{len(holes)}__"
        holes[f'"{marker}"'] = text
        return marker

    def hostile() -> str:
        kind = draw(st.sampled_from(["deep", "huge", "surrogate"]))
        if kind == "deep":
            return hole(draw(deep_json()))
        if kind == "huge":
            return hole(draw(huge_integers()))
        return hole(f'"{draw(LONE_SURROGATES)}"')

    items = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(["regex", "keyword", "pii", "json_schema", "no_such_scorer"]))
        config = {"regex": {"pattern": "a"}, "keyword": {"keywords": ["a"]}, "pii": {},
                  "json_schema": {"schema": {"type": "string"}}, "no_such_scorer": {}}[name]
        item: dict[str, Any] = {"scorer": {"name": name, "threshold": 0.5, "config": dict(config)},
                                "example": {"actual_output": "a", "input": "q"}}
        for _ in range(draw(st.integers(1, 3))):
            place = draw(st.sampled_from(["name", "threshold", "config", "example", "keyword", "pattern"]))
            if place in ("name", "threshold"):
                item["scorer"][place] = hostile()
            elif place == "config":
                item["scorer"]["config"]["x"] = hostile()
            elif place == "keyword":
                item["scorer"]["config"]["keywords"] = [hostile(), "a"]
            elif place == "pattern":
                item["scorer"]["config"]["pattern"] = hostile()
            else:
                item["example"][draw(st.sampled_from(["actual_output", "input", "context"]))] = hostile()
        items.append(item)
    text = json.dumps(items)
    for marker, value in holes.items():
        text = text.replace(marker, value)
    return text


FINAL_STATUSES = frozenset(status.value for status in semconv.EvalStatus) - {semconv.EvalStatus.PENDING.value}
STATUS_REPEATS = [("pending", "pending"), ("pending", "scored"), ("scored", "pending"), ("pending", "failed"),
                  ("pending", "pending", "pending")]
"""Repeated ``judgeval.eval.status`` keys (OTLP allows repeated keys; a collector passes them on)."""


@st.composite
def hostile_tagged_attributes(draw: st.DrawFn) -> list[KeyValue]:
    """A tagged span's attributes with repeated status keys and/or repeated request keys, hostile payloads
    among them, in any order."""
    statuses = draw(st.sampled_from([("pending",), *STATUS_REPEATS]))
    kvs = [KeyValue(key=semconv.JUDGEVAL_EVAL_STATUS, value=AnyValue(string_value=v)) for v in statuses]
    for _ in range(draw(st.integers(1, 3))):
        payload = draw(hostile_payloads() | request_payloads())
        kvs.append(KeyValue(key=semconv.JUDGEVAL_EVAL_REQUESTS, value=AnyValue(string_value=payload)))
    return draw(st.permutations(kvs))


def _attribute_keys() -> st.SearchStrategy[str]:
    known = st.sampled_from(["gen_ai.operation.name", "input", "output", "service.name"])
    return known | st.text(max_size=20)


@st.composite
def attributes(draw: st.DrawFn, tagged: bool | str) -> list[KeyValue]:
    """Fuzzed attributes; ``tagged``: ``True`` adds one status and one request key, ``"hostile"`` the
    repeated keys and hostile payloads of :func:`hostile_tagged_attributes`."""
    kvs = [KeyValue(key=k, value=v) for k, v in draw(st.lists(st.tuples(_attribute_keys(), any_values),
                                                                max_size=6))]
    if tagged == "hostile":
        kvs.extend(draw(hostile_tagged_attributes()))
    elif tagged:
        kvs.append(KeyValue(key=semconv.JUDGEVAL_EVAL_STATUS, value=AnyValue(string_value="pending")))
        payload = draw(request_payloads() | any_values.map(lambda v: v))
        value = AnyValue(string_value=payload) if isinstance(payload, str) else payload
        kvs.append(KeyValue(key=semconv.JUDGEVAL_EVAL_REQUESTS, value=value))
    return kvs


def next_trace_id() -> bytes:
    """A valid trace id no other span of the run has."""
    return (next(_ids) | 1 << 100).to_bytes(16, "big")


def next_span_id() -> bytes:
    """A valid span id no other span of the run has."""
    return (next(_ids) | 1 << 40).to_bytes(8, "big")


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
                attributes=draw(attributes(tagged=draw(st.sampled_from([False, True, "hostile"])))))
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
