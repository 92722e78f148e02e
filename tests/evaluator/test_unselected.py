"""The ``not_selected`` mark: appended to packed spans without parsing, it equals marking parsed spans."""

from __future__ import annotations

import pytest
from judgeval import semconv
from judgeval.protocol.otlp_values import set_attributes
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span

from evaluator_service.packed_spans import pack_spans
from evaluator_service.unselected import (
    MARK_OVERHEAD,
    PackedRowError,
    mark_packed_unselected,
    mark_unselected,
)
from tests.support.spans import make_span


@pytest.mark.parametrize("padding", [0, 60, 16_300, 70_000], ids=["tiny", "grows", "2-byte", "3-byte"])
def test_packed_marking_equals_marking_each_parsed_span(padding: int) -> None:
    spans = [make_span(f"span-{i}", {"x": i, "pad": "p" * padding}) for i in range(3)]
    packed = pack_spans(s.SerializeToString() for s in spans)

    marked = mark_packed_unselected(packed)

    for span in spans:
        mark_unselected(span)
    assert list(ScopeSpans.FromString(marked).spans) == spans
    assert len(marked) <= len(packed) + len(spans) * MARK_OVERHEAD


def test_the_mark_is_the_final_status_not_selected() -> None:
    span = Span()
    mark_unselected(span)
    (attribute,) = span.attributes
    assert (attribute.key, attribute.value.string_value) == (
        semconv.JUDGEVAL_EVAL_STATUS, semconv.EvalStatus.NOT_SELECTED.value
    )
    set_attributes(span, {semconv.JUDGEVAL_EVAL_STATUS: "x"})  # one key, not two
    assert len(span.attributes) == 1


@pytest.mark.parametrize("garbage", [b"\x0a\x00", b"\x12\x85", b"\x12\x05ab"])
def test_bytes_that_are_not_a_packed_row_are_refused(garbage: bytes) -> None:
    with pytest.raises(PackedRowError):
        mark_packed_unselected(garbage)
