"""Jaeger's JSON model (what ``/api/traces`` answers) turned back into OTLP protobuf spans.

Jaeger stores OTLP spans and translates them for its query HTTP API: the span kind, status and
instrumentation scope become tags (:class:`judgeval.semconv.JaegerModelTag`), the parent becomes a
``CHILD_OF`` reference and links ``FOLLOWS_FROM`` ones, events become logs whose ``event`` field is the name,
the resource becomes the trace's ``processes`` entry (its ``serviceName`` plus tags), times are
microseconds. :func:`stored_traces` reverses that. What the model cannot carry comes back as Jaeger wrote
it: array and map attributes are JSON text, times are whole microseconds.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from judgeval import semconv
from judgeval.protocol.otlp_values import to_any_value
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from evaluator_service.backends.stored_spans import StoredSpan, StoredTrace

Tag = Mapping[str, Any]
"""One Jaeger tag: ``{"key": ..., "type": "string"|"bool"|"int64"|"float64"|"binary", "value": ...}``."""

_KINDS = {
    "internal": Span.SPAN_KIND_INTERNAL, "server": Span.SPAN_KIND_SERVER, "client": Span.SPAN_KIND_CLIENT,
    "producer": Span.SPAN_KIND_PRODUCER, "consumer": Span.SPAN_KIND_CONSUMER,
}
_STATUS = {"OK": Status.STATUS_CODE_OK, "ERROR": Status.STATUS_CODE_ERROR}
_TAGS = semconv.JaegerModelTag



def tag_value(tag: Tag) -> Any:
    """The plain Python value of a Jaeger tag (binary tags are base64 in JSON)."""
    value = tag.get("value")
    kind = tag.get("type", "string")
    if kind == "binary" and isinstance(value, str):
        return base64.b64decode(value)
    if kind == "int64" and value is not None:
        return int(value)
    if kind == "float64" and value is not None:
        return float(value)
    return value


def key_values(tags: Sequence[Tag], skip: frozenset[str] = frozenset()) -> list[KeyValue]:
    """Jaeger tags as OTLP attributes, leaving out the keys in ``skip``."""
    return [KeyValue(key=t["key"], value=_any_value(tag_value(t))) for t in tags if t["key"] not in skip]


def _any_value(value: Any) -> AnyValue:
    return AnyValue(bytes_value=value) if isinstance(value, bytes) else to_any_value(value)


def hex_id(value: str, digits: int) -> bytes:
    """A Jaeger hex id (which may drop leading zeros) as OTLP id bytes."""
    return bytes.fromhex(value.rjust(digits, "0"))


def resource_of(process: Mapping[str, Any]) -> Resource:
    """A Jaeger process (service name and tags) as an OTLP resource."""
    resource = Resource()
    resource.attributes.append(KeyValue(key=semconv.SERVICE_NAME, value=to_any_value(process["serviceName"])))
    resource.attributes.extend(key_values(process.get("tags") or [], frozenset({semconv.SERVICE_NAME})))
    return resource


def otlp_span(jaeger_span: Mapping[str, Any]) -> tuple[Span, InstrumentationScope]:
    """One span of the Jaeger model as an OTLP span and its instrumentation scope."""
    tags = {t["key"]: tag_value(t) for t in jaeger_span.get("tags") or []}
    start_ns = int(jaeger_span["startTime"]) * 1000
    span = Span(
        trace_id=hex_id(jaeger_span["traceID"], 32), span_id=hex_id(jaeger_span["spanID"], 16),
        name=jaeger_span.get("operationName", ""),
        kind=_KINDS.get(str(tags.get(_TAGS.SPAN_KIND, "")), Span.SPAN_KIND_UNSPECIFIED),
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + int(jaeger_span.get("duration", 0)) * 1000,
    )
    _references(span, jaeger_span.get("references") or [])
    span.attributes.extend(key_values(jaeger_span.get("tags") or [], frozenset(_TAGS)))
    code = _STATUS.get(str(tags.get(_TAGS.STATUS_CODE, "")))
    if code is None and tags.get(_TAGS.ERROR) is True:
        code = Status.STATUS_CODE_ERROR
    if code is not None:
        span.status.code = code
        span.status.message = str(tags.get(_TAGS.STATUS_DESCRIPTION, ""))
    for log in jaeger_span.get("logs") or []:
        fields = log.get("fields") or []
        name = next((str(tag_value(f)) for f in fields if f["key"] == semconv.JAEGER_EVENT_NAME_FIELD), "")
        event = span.events.add(time_unix_nano=int(log["timestamp"]) * 1000, name=name)
        event.attributes.extend(key_values(fields, frozenset({semconv.JAEGER_EVENT_NAME_FIELD})))
    scope = InstrumentationScope(
        name=str(tags.get(_TAGS.SCOPE_NAME, tags.get(_TAGS.LIBRARY_NAME, ""))),
        version=str(tags.get(_TAGS.SCOPE_VERSION, tags.get(_TAGS.LIBRARY_VERSION, ""))),
    )
    return span, scope


def _references(span: Span, references: Sequence[Mapping[str, Any]]) -> None:
    """The parent (the first ``CHILD_OF`` reference in the same trace) and links (every other one)."""
    same_trace = [r for r in references if hex_id(r["traceID"], 32) == span.trace_id]
    parent = next((r for r in same_trace if r.get("refType") == "CHILD_OF"), None)
    if parent is not None:
        span.parent_span_id = hex_id(parent["spanID"], 16)
    for reference in references:
        if reference is not parent:
            span.links.add(trace_id=hex_id(reference["traceID"], 32), span_id=hex_id(reference["spanID"], 16))


def stored_traces(document: Mapping[str, Any]) -> list[StoredTrace]:
    """The traces of one ``/api/traces`` (or ``/api/traces/{id}``) answer. Raises ``KeyError``,
    ``ValueError`` or ``TypeError`` on a document that is not Jaeger's model."""
    traces = []
    for trace in document.get("data") or []:
        processes = {pid: resource_of(p) for pid, p in (trace.get("processes") or {}).items()}
        spans = []
        for jaeger_span in trace.get("spans") or []:
            span, scope = otlp_span(jaeger_span)
            resource = processes.get(jaeger_span.get("processID", ""), Resource())
            spans.append(StoredSpan(span, resource, scope))
        warnings = tuple(str(w) for w in trace.get("warnings") or [])
        traces.append(StoredTrace(hex_id(trace["traceID"], 32).hex(), tuple(spans), warnings))
    return traces
