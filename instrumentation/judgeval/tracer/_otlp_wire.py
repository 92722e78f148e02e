"""OTLP trace encoding straight to protobuf wire bytes, for the exporter of the provider judgeval creates.

The stock encoder (``opentelemetry-exporter-otlp-proto-common``) builds a protobuf message object per
span, attribute and value, and hashes each span's ``Resource`` by dumping its attributes to JSON; on the
export thread that costs more than recording the span did (≈16-20 µs a span, see benchmarks/README.md),
and the export thread shares the interpreter lock with the agent. Writing the wire format directly costs
a fraction of that. The result parses to the same ``ExportTraceServiceRequest`` the stock encoder builds
(``tests/sdk/test_otlp_wire.py`` compares the two on spans using every field), with the same rule for a
value that cannot be encoded: that attribute is logged and left out, the rest of the span is sent.

Field numbers are those of ``opentelemetry/proto/trace/v1/trace.proto`` and ``common/v1/common.proto``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanKind

logger = logging.getLogger("judgeval")

_SMALL_VARINTS = [bytes((n,)) for n in range(128)]
_FIXED64 = struct.Struct("<Q").pack
_DOUBLE = struct.Struct("<d").pack
_FIXED32 = struct.Struct("<I").pack
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# SpanKind → Span.SpanKind (the protobuf enum starts with UNSPECIFIED = 0).
_KIND = {kind: _SMALL_VARINTS[kind.value + 1] for kind in SpanKind}
_FLAGS_HAS_IS_REMOTE = 0x100
_FLAGS_IS_REMOTE = 0x200
_EMPTY_STATUS = b"\x7a\x00"


def varint(value: int) -> bytes:
    """Unsigned base-128 varint (callers map negative int64 values to their two's complement first)."""
    if value < 128:
        return _SMALL_VARINTS[value]
    out = bytearray()
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


def encode_any_value(value: Any) -> bytes:
    """The body of an ``AnyValue`` holding ``value``; raises ``ValueError`` for what OTLP cannot hold."""
    kind = type(value)
    if kind is str:
        return _length_delimited(b"\x0a", value.encode())
    if value is None:
        return b""
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _length_delimited(b"\x0a", value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer {value} does not fit in int64")
        return b"\x18" + varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return _length_delimited(b"\x3a", value)
    if isinstance(value, Sequence):
        items = b"".join(_length_delimited(b"\x0a", encode_any_value(item)) for item in value)
        return _length_delimited(b"\x2a", items)
    if isinstance(value, Mapping):
        pairs = b"".join(_length_delimited(b"\x0a", _key_value(str(k), v)) for k, v in value.items())
        return _length_delimited(b"\x32", pairs)
    raise ValueError(f"Invalid type {type(value)} of value {value}")


def _key_value(key: str, value: Any) -> bytes:
    return _key_prefix(key) + _length_delimited(b"\x12", encode_any_value(value))


_KEY_PREFIXES: dict[str, bytes] = {}
_MAX_CACHED_KEYS = 4096


def _key_prefix(key: str) -> bytes:
    """The encoded ``KeyValue.key`` field; attribute keys repeat on every span, so they are kept."""
    prefix = _KEY_PREFIXES.get(key)
    if prefix is None:
        prefix = _length_delimited(b"\x0a", key.encode())
        if len(_KEY_PREFIXES) < _MAX_CACHED_KEYS:
            _KEY_PREFIXES[key] = prefix
    return prefix


def encode_attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
    """Each attribute as a ``KeyValue`` under field ``tag``; an unencodable one is logged and skipped."""
    if not attributes:
        return b""
    parts: list[bytes] = []
    for key, value in attributes.items():
        try:
            pair = _key_value(key, value)
        except (ValueError, TypeError, UnicodeError, RecursionError) as error:
            logger.warning("judgeval could not encode span attribute %s: %s", key, error)
            continue
        parts += (tag, varint(len(pair)), pair)
    return b"".join(parts)


def _flags(remote: bool) -> bytes:
    return b"\x85\x01" + _FIXED32(_FLAGS_HAS_IS_REMOTE | (_FLAGS_IS_REMOTE if remote else 0))


def _trace_state(state: Any) -> bytes:
    if not state:
        return b""
    return _length_delimited(b"\x1a", ",".join(f"{k}={v}" for k, v in state.items()).encode())


def _status(span: ReadableSpan) -> bytes:
    status = span.status
    if status is None:
        return b""
    body = b""
    if status.description:
        body += _length_delimited(b"\x12", status.description.encode())
    if status.status_code.value:
        body += b"\x18" + varint(status.status_code.value)
    return _length_delimited(b"\x7a", body) if body else _EMPTY_STATUS


def _events(span: ReadableSpan) -> bytes:
    parts = []
    for event in span.events:
        body = b"\x09" + _FIXED64(event.timestamp) if event.timestamp else b""
        if event.name:
            body += _length_delimited(b"\x12", event.name.encode())
        body += encode_attributes(b"\x1a", event.attributes)
        if event.dropped_attributes:
            body += b"\x20" + varint(event.dropped_attributes)
        parts.append(_length_delimited(b"\x5a", body))
    return b"".join(parts)


def _links(span: ReadableSpan) -> bytes:
    parts = []
    for link in span.links:
        context = link.context
        body = (b"\x0a\x10" + context.trace_id.to_bytes(16, "big") + b"\x12\x08"
                + context.span_id.to_bytes(8, "big") + encode_attributes(b"\x22", link.attributes))
        if link.dropped_attributes:
            body += b"\x28" + varint(link.dropped_attributes)
        body += b"\x35" + _FIXED32(_FLAGS_HAS_IS_REMOTE | (_FLAGS_IS_REMOTE if context.is_remote else 0))
        parts.append(_length_delimited(b"\x6a", body))
    return b"".join(parts)


def encode_span(span: ReadableSpan) -> bytes:
    """The body of one OTLP ``Span``."""
    context = span.get_span_context()
    if context is None:  # never from the SDK's own spans; the stock encoder cannot encode it either
        raise ValueError(f"span {span.name!r} has no span context")
    parent = span.parent
    parts = [b"\x0a\x10", context.trace_id.to_bytes(16, "big"),
             b"\x12\x08", context.span_id.to_bytes(8, "big"), _trace_state(context.trace_state)]
    if parent is not None:
        parts += (b"\x22\x08", parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_length_delimited(b"\x2a", span.name.encode()))
    parts += (b"\x30", _KIND[span.kind])
    if span.start_time:
        parts += (b"\x39", _FIXED64(span.start_time))
    if span.end_time:
        parts += (b"\x41", _FIXED64(span.end_time))
    parts.append(encode_attributes(b"\x4a", span.attributes))
    if span.dropped_attributes:
        parts += (b"\x50", varint(span.dropped_attributes))
    if span.events:
        parts.append(_events(span))
    if span.dropped_events:
        parts += (b"\x60", varint(span.dropped_events))
    if span.links:
        parts.append(_links(span))
    if span.dropped_links:
        parts += (b"\x70", varint(span.dropped_links))
    parts += (_status(span), _flags(parent is not None and parent.is_remote))
    return b"".join(parts)


def _resource(resource: Resource) -> bytes:
    return _length_delimited(b"\x0a", encode_attributes(b"\x0a", resource.attributes))


def _scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b"\x0a\x00"
    body = b""
    if scope.name:
        body += _length_delimited(b"\x0a", scope.name.encode())
    if scope.version:
        body += _length_delimited(b"\x12", scope.version.encode())
    body += encode_attributes(b"\x1a", scope.attributes)
    return _length_delimited(b"\x0a", body)


def _scope_spans(scope: InstrumentationScope | None, encoded_spans: list[bytes]) -> bytes:
    body = _scope(scope) + b"".join(encoded_spans) + _schema_url(scope.schema_url if scope else None)
    return _length_delimited(b"\x12", body)


def _schema_url(schema_url: str | None) -> bytes:
    return _length_delimited(b"\x1a", schema_url.encode()) if schema_url else b""


def encode_export_request(spans: Sequence[ReadableSpan]) -> bytes:
    """A serialized ``ExportTraceServiceRequest`` of ``spans``, grouped by resource, then scope.

    Groups are keyed by object identity: spans of one provider share its ``Resource`` and their tracer's
    scope objects, so this groups them exactly as the stock encoder does without hashing a resource per
    span; equal resources held in distinct objects become separate (equally valid) ``ResourceSpans``.
    """
    groups: dict[int, tuple[Resource, dict[int, tuple[InstrumentationScope | None, list[bytes]]]]] = {}
    for span in spans:
        resource = span.resource
        scope = span.instrumentation_scope or None
        by_scope = groups.get(id(resource))
        if by_scope is None:
            by_scope = groups[id(resource)] = (resource, {})
        entry = by_scope[1].get(id(scope))
        if entry is None:
            entry = by_scope[1][id(scope)] = (scope, [])
        entry[1].append(_length_delimited(b"\x12", encode_span(span)))
    out = []
    for resource, scopes in groups.values():
        scope_spans = b"".join(_scope_spans(scope, encoded) for scope, encoded in scopes.values())
        body = _resource(resource) + scope_spans + _schema_url(resource.schema_url)
        out.append(_length_delimited(b"\x0a", body))
    return b"".join(out)
