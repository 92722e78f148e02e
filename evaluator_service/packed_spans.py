"""The packed form of a group of serialized spans: the bytes of a ``ScopeSpans`` holding only them.

A queue row of several spans stores them so (see :mod:`evaluator_service.queue`), and the forwarder copies
the bytes into its export request as they are. Written by hand, without parsing the spans: per span the
wire tag of ``ScopeSpans.spans`` (field 2, length-delimited), its length as a varint, then the span.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans


def pack_spans(spans: Iterable[bytes]) -> bytes:
    """Serialized spans as the bytes of a ``ScopeSpans`` holding only them: per span, the wire tag of
    ``ScopeSpans.spans`` (field 2, length-delimited), its length as a varint, then the span."""
    out = bytearray()
    for span in spans:
        size = len(span)
        out.append(0x12)
        while size > 0x7F:
            out.append((size & 0x7F) | 0x80)
            size >>= 7
        out.append(size)
        out += span
    return bytes(out)


def unpack_spans(packed: bytes) -> list[bytes]:
    """The serialized spans of :func:`pack_spans` bytes (parsed, not split by hand: a packed row made from
    an export's own ``ScopeSpans`` bytes may carry fields a sender added beside the spans)."""
    return [span.SerializeToString() for span in ScopeSpans.FromString(packed).spans]
