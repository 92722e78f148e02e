"""The span queue's file and its async facade: :class:`SpanQueue` enqueues, reads, hands over and deletes
rows (see :mod:`evaluator_service.queue` for what they hold), keeping the span and byte counts the limits and
metrics use.

SQLite calls run on the file's one thread (:mod:`evaluator_service.local_sqlite`). A queue file written
before packing existed (no ``spans``/``packed`` columns) is upgraded when opened, in one transaction: its rows
keep meaning one unpacked span each.

**A full disk** is refused at the door, never half-written: :meth:`SpanQueue.enqueue` first checks that the
data directory's filesystem (plus the free pages inside the queue file) keeps ``min_free_bytes`` free after
the batch, and raises :class:`~evaluator_service.queue.limits.DiskFullError` (OTLP ``UNAVAILABLE``)
otherwise; a write SQLite still finds no room for (``SQLITE_FULL``) is rolled back whole and raises the same
error. The reserve is what moves and deletes of spans already accepted use, so scoring and forwarding go on
while intake is refused; those writes never give up on a full disk either, they wait for space and try
again (:data:`~evaluator_service.queue.limits.DISK_FULL_RETRY_S`), and intake accepts again by itself as
soon as forwarding or the operator freed space.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TypeVar

from evaluator_service import span_keys
from evaluator_service.errors import path_problem
from evaluator_service.local_sqlite import LocalSqliteFile, is_disk_full, transaction
from evaluator_service.queue.limits import (
    DISK_FULL_RETRY_S,
    MIN_FREE_BYTES,
    BatchTooLargeError,
    DiskFullError,
    QueueFullError,
    usable_bytes,
)
from evaluator_service.queue.rows import (
    MAX_ROW_BYTES,
    ROW_SPANS,
    NewSpan,
    NewSpanGroup,
    QueuedSpan,
    RowValues,
    ScoredRow,
    SpanState,
    row_values,
    span_groups,
    without_known_spans,
)
from evaluator_service.queue.schema import CREATE_INDEX, CREATE_TABLE, INSERT, UPGRADE

T = TypeVar("T")

logger = logging.getLogger(__name__)

DB_FILE_NAME = "queue.sqlite3"


def data_dir_problem(data_dir: Path, exc: OSError | sqlite3.Error) -> str:
    """What is wrong with the data directory or its queue file when :meth:`SpanQueue.open` failed, for a
    :class:`~evaluator_service.errors.StartupError` line."""
    if isinstance(exc, OSError):
        return f"data dir {path_problem(data_dir, exc)}"
    queue_file = data_dir / DB_FILE_NAME
    return f"queue file {queue_file} unusable: {exc} (move it aside to start with an empty queue)"


class SpanQueue(LocalSqliteFile):
    """Async facade over the SQLite queue; create with :meth:`open`, finish with :meth:`close`."""

    def __init__(
        self, path: Path, max_spans: int, max_bytes: int, row_spans: int = ROW_SPANS,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> None:
        super().__init__(path, "judgeval-store", "span store")
        self.min_free_bytes = min_free_bytes
        """Free space intake leaves on the filesystem, for the writes of spans already accepted."""
        self.row_spans = row_spans
        """The most spans one packed row holds."""
        self._max_spans = max_spans
        self._max_bytes = max_bytes
        self.span_count = 0
        self.byte_count = 0
        self.score_byte_count = 0
        """Bytes of ``SCORE`` rows: scoring writes each of them again (enriched) before deleting it."""
        self._keys_pruned_at = 0.0

    @classmethod
    async def open(
        cls, data_dir: Path, max_spans: int, max_bytes: int, row_spans: int = ROW_SPANS,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> SpanQueue:
        """Create the data dir and database if needed (upgrading an older queue file in place) and load the
        queue's current size."""
        store = cls(data_dir / DB_FILE_NAME, max_spans, max_bytes, row_spans, min_free_bytes)
        await store._run(store._open_sync)
        return store

    def _open_sync(self) -> None:
        conn = self._connect(
            page_size=16384,  # new files only: fewer, larger page writes per span
            pragmas=(
                # After a checkpoint the WAL shrinks back instead of keeping its peak size: on a small disk
                # the space a burst took returns to the filesystem.
                f"journal_size_limit={MAX_ROW_BYTES}",
                # Checkpoint every 256 pages (4 MiB) instead of SQLite's 1,000 (16 MiB with our page size):
                # the log holds every page written since the last checkpoint, and deleted spans free nothing
                # until then.
                "wal_autocheckpoint=256",
            ),
        )
        with transaction(conn):
            conn.execute(CREATE_TABLE)
            conn.execute(CREATE_INDEX)
            conn.execute(span_keys.CREATE_TABLE)
            if "packed" not in {row[1] for row in conn.execute("PRAGMA table_info(spans)")}:
                for statement in UPGRADE:
                    conn.execute(statement)
        count, size = conn.execute(
            "SELECT COALESCE(SUM(spans), 0), COALESCE(SUM(size), 0) FROM spans").fetchone()
        self.span_count, self.byte_count = int(count), int(size)
        (score_bytes,) = conn.execute(
            "SELECT COALESCE(SUM(size), 0) FROM spans WHERE state = ?", (int(SpanState.SCORE),)).fetchone()
        self.score_byte_count = int(score_bytes)
        self._conn = conn

    async def enqueue(self, rows: Sequence[NewSpan | NewSpanGroup]) -> int:
        """Durably add ``rows`` in one transaction; raises :class:`QueueFullError` over the limit. Spans to
        score accepted before (by their ``keys``) are left out: returns how many."""
        return await self._run(lambda: self._enqueue_sync(rows))

    def _enqueue_sync(self, rows: Sequence[NewSpan | NewSpanGroup]) -> int:
        db = self._db()
        rows, keys, duplicates = without_known_spans(db, rows)
        if not rows:
            return duplicates
        values = [row_values(row) for row in rows]
        count = sum(v[5] for v in values)
        size = sum(v[4] for v in values)
        if count > self._max_spans or size > self._max_bytes:
            raise BatchTooLargeError(
                f"one export of {count} spans ({size} bytes) exceeds the evaluator's queue limits "
                f"({self._max_spans} spans, {self._max_bytes} bytes); send smaller batches or raise "
                "queue.max_spans / queue.max_bytes"
            )
        if self.span_count + count > self._max_spans or self.byte_count + size > self._max_bytes:
            raise QueueFullError(
                f"evaluator queue is full ({self.span_count} spans, {self.byte_count} bytes queued)"
            )
        to_score = sum(v[4] for v in values if v[0] == SpanState.SCORE)
        free = usable_bytes(db, self.path)
        # Spans to score are written twice (as they came, then enriched), the ones queued before included.
        if free - size - to_score - self.score_byte_count < self.min_free_bytes:
            raise DiskFullError(
                f"evaluator data directory is almost full ({free} bytes usable, {self.min_free_bytes} kept "
                f"free by queue.min_free_bytes); retry later"
            )
        now = time.time()
        try:
            with transaction(db):
                db.executemany(INSERT, values)
                span_keys.remember(db, keys, now)
                if now - self._keys_pruned_at >= span_keys.PRUNE_EVERY_S:
                    span_keys.forget_before(db, now - span_keys.KEEP_S)
                    self._keys_pruned_at = now
        except sqlite3.OperationalError as exc:
            if not is_disk_full(exc):
                raise
            raise DiskFullError("evaluator data directory is full; retry later") from None
        self.span_count += count
        self.byte_count += size
        self.score_byte_count += to_score
        return duplicates

    async def _run_until_stored(self, fn: Callable[[], T], what: str) -> T:
        """Run a write of spans already accepted; on a full disk wait for space and run it again (each
        attempt is one transaction, rolled back whole when it fails)."""
        warned = False
        while True:
            try:
                return await self._run(fn)
            except sqlite3.OperationalError as exc:
                if not is_disk_full(exc):
                    raise
                if not warned:
                    logger.error("evaluator data directory is full: %s waits for free space", what)
                    warned = True
            await asyncio.sleep(DISK_FULL_RETRY_S)

    async def pending_scoring(self, after_id: int, limit: int) -> list[QueuedSpan]:
        """Rows waiting for the dispatcher with ``id > after_id``, oldest first, holding at most ``limit``
        spans (but always at least one row)."""
        return await self._run(lambda: self._select(SpanState.SCORE, "AND id > ?", (after_id,), limit))

    async def pending_export(self, limit: int, exclude: Collection[int] = ()) -> list[QueuedSpan]:
        """Rows ready for the downstream, oldest first, holding at most ``limit`` spans (but always at least
        one row), leaving out the row ids in ``exclude`` (the ones already being sent)."""
        skip = f"AND id NOT IN ({','.join('?' * len(exclude))})" if exclude else ""
        return await self._run(lambda: self._select(SpanState.EXPORT, skip, tuple(exclude), limit))

    def _select(
        self, state: SpanState, where: str, parameters: tuple[int, ...], limit: int
    ) -> list[QueuedSpan]:
        # Spans are counted in SQL, so the span data of rows past the limit is never read.
        rows = self._db().execute(
            "SELECT id, resource, scope, span, spans, packed FROM spans WHERE id IN (SELECT id FROM ("
            "SELECT id, spans, SUM(spans) OVER (ORDER BY id) AS running FROM ("
            f"SELECT id, spans FROM spans WHERE state = ? {where} ORDER BY id LIMIT ?)) "
            "WHERE running <= ? OR running = spans) ORDER BY id",  # (running = spans: the first row)
            (int(state), *parameters, limit, limit),
        )
        return [QueuedSpan(row_id, resource, scope, span, count, bool(packed))
                for row_id, resource, scope, span, count, packed in rows]

    async def mark_scored(self, scored: Sequence[ScoredRow]) -> None:
        """Hand scored rows to the forwarder in one transaction: their enriched spans become packed
        ``EXPORT`` rows (grouped by resource and scope, in the given order), spans to requeue become new
        ``SCORE`` rows, and the scored rows are deleted."""

        def store() -> None:
            db = self._db()
            ids = [s.row.id for s in scored]
            with transaction(db):
                removed = dict(db.execute(f"DELETE FROM spans WHERE id IN ({','.join('?' * len(ids))}) "
                                          "RETURNING id, size", ids).fetchall())  # SCORE rows only
                # Only rows that were still there: storing any other's spans would duplicate them.
                values = self._scored_rows([s for s in scored if s.row.id in removed])
                db.executemany(INSERT, values)
            self.byte_count += sum(v[4] for v in values) - sum(removed.values())
            self.score_byte_count += (sum(v[4] for v in values if v[0] == SpanState.SCORE)
                                      - sum(removed.values()))

        if scored:
            await self._run_until_stored(store, "storing scored spans")

    def _scored_rows(self, scored: Sequence[ScoredRow]) -> list[RowValues]:
        rows: list[RowValues] = []
        singles: dict[tuple[bytes, bytes], list[bytes]] = {}  # unpacked rows' spans, packed together here
        for s in scored:
            envelope = (s.row.resource, s.row.scope)
            if not s.row.packed:
                if s.count:  # 0: the span was dropped
                    singles.setdefault(envelope, []).append(s.spans)
            elif s.count:
                rows.append(row_values(NewSpanGroup(*envelope, s.spans, s.count)))
            rows += (row_values(NewSpan(SpanState.SCORE, *envelope, span)) for span in s.requeue)
        rows += (row_values(group) for (resource, scope), spans in singles.items()
                 for group in span_groups(resource, scope, spans, self.row_spans))
        return rows

    async def delete(self, ids: Sequence[int]) -> None:
        """Forget rows the downstream acknowledged."""

        def delete_sync() -> None:
            db = self._db()
            marks = ",".join("?" * len(ids))
            with transaction(db):
                rows = db.execute(f"DELETE FROM spans WHERE id IN ({marks}) RETURNING size, spans, state",
                                  ids).fetchall()
            self.span_count -= sum(count for _, count, _ in rows)
            self.byte_count -= sum(size for size, _, _ in rows)
            self.score_byte_count -= sum(size for size, _, state in rows if state == SpanState.SCORE)

        if ids:
            await self._run_until_stored(delete_sync, "deleting delivered spans")


