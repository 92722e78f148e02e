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

from evaluator_service.queue import pack_spans

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
    """The spans of a packed row, each marked; none of them may carry a ``judgeval.eval.status`` yet."""
    return pack_spans(span + MARK_BYTES for span in _unpack(packed))


def _unpack(packed: bytes) -> list[bytes]:
    spans: list[bytes] = []
    view = memoryview(packed)
    position, end = 0, len(packed)
    while position < end:
        if packed[position] != _SPANS_TAG:
            raise PackedRowError(f"byte {position} is not a ScopeSpans.spans field")
        length, shift = 0, 0
        position += 1
        while True:
            if position >= end:
                raise PackedRowError("packed row ends inside a length")
            byte = packed[position]
            position += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        if position + length > end:
            raise PackedRowError("packed row ends inside a span")
        spans.append(bytes(view[position:position + length]))
        position += length
    return spans
