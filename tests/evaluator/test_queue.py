"""The durable queue's row format: packed rows count as their spans, batches are cut by spans, and queue
files written before packing existed open and deliver everything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.semconv import EvalStatus
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.queue import (
    DB_FILE_NAME,
    BatchTooLargeError,
    QueueFullError,
    SpanQueue,
    SpanState,
    pack_spans,
    span_groups,
)
from tests.support.evaluator import running, wait_drained, wait_for
from tests.support.spans import by_name, make_request, make_span, tagged_attributes

# The queue schema before packed rows: one row per span, no `spans`/`packed` columns.
OLD_SCHEMA = """
CREATE TABLE spans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state INTEGER NOT NULL,
    resource BLOB NOT NULL,
    scope BLOB NOT NULL,
    span BLOB NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX spans_by_state ON spans (state, id);
"""


def _envelopes(span: Span) -> tuple[bytes, bytes, bytes]:
    """(resource, scope, span) bytes the way the evaluator stores them."""
    resource_spans = make_request([span]).resource_spans[0]
    resource = ResourceSpans(resource=resource_spans.resource, schema_url=resource_spans.schema_url)
    scope_spans = resource_spans.scope_spans[0]
    scope = ScopeSpans(scope=scope_spans.scope, schema_url=scope_spans.schema_url)
    return resource.SerializeToString(), scope.SerializeToString(), span.SerializeToString()


def _write_old_queue(data_dir: Path, rows: list[tuple[SpanState, Span]]) -> None:
    data_dir.mkdir(parents=True)
    with sqlite3.connect(data_dir / DB_FILE_NAME) as db:
        db.executescript(OLD_SCHEMA)
        for state, span in rows:
            resource, scope, data = _envelopes(span)
            db.execute("INSERT INTO spans (state, resource, scope, span, size) VALUES (?, ?, ?, ?, ?)",
                       (int(state), resource, scope, data, len(data)))


async def test_a_queue_file_from_before_packing_opens_and_delivers_its_spans(make_config, receiver, tmp_path):
    data_dir = tmp_path / "old-queue"
    tagged = tagged_attributes(("regex", {"actual_output": "ok"}), config={"pattern": "ok"})
    _write_old_queue(data_dir, [
        (SpanState.EXPORT, make_span("forwarded")),
        (SpanState.SCORE, make_span("scored", tagged)),
        (SpanState.EXPORT, make_span("forwarded-too")),
    ])
    async with running(make_config(data_dir=data_dir)) as app:
        assert app.store.span_count == 3
        received = await wait_for(receiver, lambda s: len(s) == 3)
        await wait_drained(app)
    assert by_name(received, "scored").attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert by_name(received, "forwarded").attributes == {}
    assert by_name(received, "forwarded-too").attributes == {}
    with sqlite3.connect(data_dir / DB_FILE_NAME) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(spans)")]
    assert columns.index("spans") < columns.index("span")  # counts stay readable without the blobs


def _spans(count: int) -> list[bytes]:
    return [make_span(f"span-{i}").SerializeToString() for i in range(count)]


async def test_packed_rows_count_as_their_spans_and_batches_are_cut_by_spans(tmp_path):
    store = await SpanQueue.open(tmp_path, max_spans=12, max_bytes=10**6, row_spans=3)
    try:
        groups = span_groups(b"resource", b"scope", _spans(10), store.row_spans)
        assert [g.count for g in groups] == [3, 3, 3, 1]
        await store.enqueue(groups)
        assert store.span_count == 10
        first = await store.pending_export(limit=5)
        assert [row.count for row in first] == [3]  # a second row would make 6 spans
        rest = await store.pending_export(limit=7, exclude=[row.id for row in first])
        assert [row.count for row in rest] == [3, 3, 1]
        assert [row.count for row in await store.pending_export(limit=1)] == [3]  # always one row
        await store.delete([row.id for row in first])
        assert store.span_count == 7
    finally:
        await store.close()
    reopened = await SpanQueue.open(tmp_path, max_spans=12, max_bytes=10**6)
    try:
        assert reopened.span_count == 7
        assert sum(len(row.span) for row in rest) == reopened.byte_count
    finally:
        await reopened.close()


def test_a_packed_row_holds_its_spans_as_a_scope_spans_does():
    spans = _spans(4)
    decoded = ScopeSpans.FromString(pack_spans(spans))
    assert [s.SerializeToString() for s in decoded.spans] == spans


async def test_queue_limits_count_the_spans_of_packed_rows(tmp_path):
    store = await SpanQueue.open(tmp_path, max_spans=5, max_bytes=10**6)
    try:
        await store.enqueue(span_groups(b"r", b"s", _spans(4), store.row_spans))
        with pytest.raises(QueueFullError, match="queue is full"):  # 4 + 2 spans > 5
            await store.enqueue(span_groups(b"r", b"s", _spans(2), store.row_spans))
        with pytest.raises(BatchTooLargeError, match="one export of 6 spans"):
            await store.enqueue(span_groups(b"r", b"s", _spans(6), store.row_spans))
        assert store.span_count == 4
    finally:
        await store.close()
