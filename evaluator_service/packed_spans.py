"""The packed form of a group of serialized spans: the bytes of a ``ScopeSpans`` holding only them.

A queue row of several spans stores them so (see :mod:`evaluator_service.queue`), and the forwarder copies
the bytes into its export request as they are. Written by hand, without parsing the spans: per span the
wire tag of ``ScopeSpans.spans`` (field 2, length-delimited), its length as a varint, then the span.
"""

from __future__ import annotations

from collections.abc import Iterable


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
    """The serialized spans of :func:`pack_spans` bytes."""
    spans: list[bytes] = []
    at = 0
    while at < len(packed):
        at += 1  # the field tag
        size = shift = 0
        while True:
            byte = packed[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        spans.append(packed[at:at + size])
        at += size
    return spans
