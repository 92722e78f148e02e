"""The mark on spans the evaluator re-exports without scoring them: ``judgeval.eval.status=not_selected``.

Every span leaving the evaluator carries a final ``judgeval.eval.status``: scored spans get theirs from
:mod:`evaluator_service.enrichment`, and every untagged span that no rule selected (none matched, or the
rule's sampling left it out) gets ``not_selected`` here, on intake. A collector that sends untagged rule
candidates to the evaluator therefore never routes a re-exported span back, whatever candidate condition it
uses: no loop, no duplicate.

A span already parsed is marked through protobuf. The spans of a packed row (serialized together, see
:mod:`evaluator_service.queue`) are marked without parsing them: protobuf concatenates repeated fields, so
one encoded ``Span.attributes`` entry appended to a span's bytes adds that attribute to the span.
"""

from __future__ import annotations

from judgeval import semconv
from judgeval.protocol.otlp_values import set_attributes
from opentelemetry.proto.trace.v1.trace_pb2 import Span

_MARK = {semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.NOT_SELECTED.value}


def _encoded_mark() -> bytes:
    span = Span()
    set_attributes(span, _MARK)
    return span.SerializeToString()  # a span holding only the attribute: exactly its one attributes entry


MARK_BYTES = _encoded_mark()
"""The mark as it is appended to a serialized span."""

MARK_OVERHEAD = len(MARK_BYTES) + 1
"""The most a packed row grows per span when marked (the mark, plus one byte if the span's length varint
gets longer)."""

_SPANS_TAG = 0x12  # ScopeSpans.spans: field 2, length-delimited


class PackedRowError(ValueError):
    """Bytes that are not a packed row of spans (a bug upstream of the marking, never user input)."""


def mark_unselected(span: Span) -> None:
    """Mark one parsed span that carries no ``judgeval.eval.status`` as seen and not selected."""
    set_attributes(span, _MARK)


def mark_packed_unselected(packed: bytes) -> bytes:
    """The spans of a packed row, each marked; none of them may carry a ``judgeval.eval.status`` yet.

    One pass over the row's framing: each span is copied once, behind its new length (the hot path of
    an evaluator that agents export to directly, about a microsecond per span)."""
    parts: list[bytes | bytearray | memoryview] = []
    view = memoryview(packed)
    position, end = 0, len(packed)
    while position < end:
        if packed[position] != _SPANS_TAG:
            raise PackedRowError(f"byte {position} is not a ScopeSpans.spans field")
        length, position = _read_length(packed, position + 1)
        if position + length > end:
            raise PackedRowError("packed row ends inside a span")
        parts += (_length_field(length + len(MARK_BYTES)), view[position:position + length], MARK_BYTES)
        position += length
    return b"".join(parts)


def _read_length(packed: bytes, position: int) -> tuple[int, int]:
    """The varint at ``position`` and the position after it."""
    length, shift = 0, 0
    while True:
        if position >= len(packed):
            raise PackedRowError("packed row ends inside a length")
        byte = packed[position]
        position += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return length, position
        shift += 7


def _length_field(size: int) -> bytearray:
    """The ``spans`` tag and ``size`` as a varint."""
    out = bytearray((_SPANS_TAG,))
    while size > 0x7F:
        out.append((size & 0x7F) | 0x80)
        size >>= 7
    out.append(size)
    return out
