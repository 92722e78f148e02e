"""What a queue row holds: the row states, the rows to enqueue (one span, or a packed group), the rows read
back and scored, and how spans become rows (grouping by size, leaving out spans to score seen before).

These are the queue's vocabulary, shared by intake, the dispatcher, the forwarder and the trajectory sweep;
:class:`~evaluator_service.queue.span_queue.SpanQueue` stores them.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from evaluator_service import span_keys
from evaluator_service.packed_spans import pack_spans, unpack_spans

ROW_SPANS = 512
"""Default of the most spans one packed row holds (the app passes ``export.batch_size``), so one row never
makes a re-export request larger than the configured batch."""

MAX_ROW_BYTES = 4 * 1024 * 1024
"""The most span bytes one packed row holds (a bigger group is split; a single larger span gets a row of
its own), keeping re-export requests small."""

class SpanState(IntEnum):
    """Where a queued span is in its life."""

    SCORE = 0
    EXPORT = 1


@dataclass(frozen=True, slots=True)
class NewSpan:
    """A span to enqueue, with the serialized resource and scope envelopes it arrived under."""

    state: SpanState
    resource: bytes
    scope: bytes
    span: bytes


@dataclass(frozen=True, slots=True)
class NewSpanGroup:
    """``count`` spans of one resource and scope to enqueue as one packed row: ``spans`` is what
    :func:`pack_spans` makes of them."""

    resource: bytes
    scope: bytes
    spans: bytes
    count: int
    state: SpanState = SpanState.EXPORT
    keys: tuple[bytes, ...] = ()
    """For spans to score: each span's :func:`~evaluator_service.span_keys.span_key`, in order; a span whose
    key the queue accepted before is dropped (see :mod:`evaluator_service.span_keys`)."""


@dataclass(frozen=True, slots=True)
class QueuedSpan:
    """A row read back from the queue: one span, or ``count`` packed spans when ``packed``."""

    id: int
    resource: bytes
    scope: bytes
    span: bytes
    count: int = 1
    packed: bool = False


@dataclass(frozen=True, slots=True)
class ScoredRow:
    """A ``SCORE`` row after scoring: ``spans`` holds its ``count`` enriched spans (packed like the row,
    so one span of an unpacked row, or none when ``count`` is 0: a dropped dead letter), ``requeue`` the
    serialized spans of a packed row that still need waiting; they go back to the queue as ``SCORE`` rows
    of their own, to be read again."""

    row: QueuedSpan
    spans: bytes
    count: int = 1
    requeue: Sequence[bytes] = ()


def span_groups(
    resource: bytes, scope: bytes, spans: Sequence[bytes], row_spans: int, state: SpanState = SpanState.EXPORT
) -> list[NewSpanGroup]:
    """Serialized spans of one resource and scope as packed rows of at most ``row_spans`` spans and about
    :data:`MAX_ROW_BYTES` bytes each."""
    groups: list[NewSpanGroup] = []
    start = 0
    while start < len(spans):
        end, size = start, 0
        while end < len(spans) and end - start < row_spans and (
            end == start or size + len(spans[end]) <= MAX_ROW_BYTES
        ):
            size += len(spans[end])
            end += 1
        groups.append(NewSpanGroup(resource, scope, pack_spans(spans[start:end]), end - start, state))
        start = end
    return groups


RowValues = tuple[int, bytes, bytes, bytes, int, int, int]


def without_known_spans(
    db: sqlite3.Connection, rows: Sequence[NewSpan | NewSpanGroup]
) -> tuple[list[NewSpan | NewSpanGroup], list[bytes], int]:
    """``rows`` without the spans to score whose key is known (or came earlier in ``rows``), the keys of
    the spans kept, and how many were left out."""
    keyed = [row for row in rows if isinstance(row, NewSpanGroup) and row.keys]
    if not keyed:
        return list(rows), [], 0
    seen = span_keys.known_keys(db, (key for row in keyed for key in row.keys))
    kept_rows: list[NewSpan | NewSpanGroup] = []
    kept_keys: list[bytes] = []
    dropped = 0
    for row in rows:
        if not (isinstance(row, NewSpanGroup) and row.keys):
            kept_rows.append(row)
            continue
        keep = []
        for key in row.keys:
            keep.append(key not in seen)
            seen.add(key)
        kept_keys += (key for key, kept in zip(row.keys, keep, strict=True) if kept)
        if all(keep):
            kept_rows.append(row)
            continue
        spans = [span for span, kept in zip(unpack_spans(row.spans), keep, strict=True) if kept]
        dropped += len(keep) - len(spans)
        if spans:
            kept_rows.append(dataclasses.replace(row, spans=pack_spans(spans), count=len(spans), keys=()))
    return kept_rows, kept_keys, dropped


def row_values(row: NewSpan | NewSpanGroup) -> RowValues:
    """The :data:`~evaluator_service.queue.schema.INSERT` parameters of one new row."""
    if isinstance(row, NewSpanGroup):
        return int(row.state), row.resource, row.scope, row.spans, len(row.spans), row.count, 1
    return int(row.state), row.resource, row.scope, row.span, len(row.span), 1, 0
