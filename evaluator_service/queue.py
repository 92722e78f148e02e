"""The durable queue: every accepted span lives in SQLite until the downstream acknowledged it.

One database file, ``<data_dir>/queue.sqlite3``, in WAL mode with ``synchronous=FULL`` so a committed
transaction survives a power cut. Each row holds span data plus the serialized ``Resource`` and
``InstrumentationScope`` it arrived under (as ``ResourceSpans``/``ScopeSpans`` with their span lists
emptied, which keeps the schema URLs too), and the number of spans it holds (``spans``). The span data is
either one serialized OTLP ``Span`` (``packed = 0``) or a *packed* group of up to ``row_spans`` spans of
one resource and scope that arrived or were scored together: the bytes of a ``ScopeSpans``
holding just those spans, i.e. one length-delimited ``spans`` field per span (``packed = 1``, see
:func:`pack_spans`). Packing makes a group of spans cost one row to insert, read and delete instead of one
each, and the forwarder copies the bytes into its request as they are. Queue limits, ``span_count`` and
metrics count spans, never rows. A row is in one of two states:

* ``SCORE`` — tagged spans waiting for the dispatcher. In one transaction the dispatcher stores the enriched
  spans of a batch as packed ``EXPORT`` rows and deletes their ``SCORE`` rows; spans of a packed row that
  must wait (an LLM judge, a sandboxed scorer, ...) go back to the queue as ``SCORE`` rows of one span each.
* ``EXPORT`` — waiting for the forwarder, which deletes the row only after the downstream answered OK.

That gives at-least-once delivery: a crash between the downstream's OK and the delete re-sends the span
after restart. A queue file written before packing existed (no ``spans``/``packed`` columns) is upgraded
when opened, in one transaction: its rows keep meaning one unpacked span each.
Pauses and uploaded scorers are shared state and live in :mod:`evaluator_service.state` instead.

SQLite calls run on one dedicated thread (the connection never leaves it), so the event loop never blocks
on disk and writes are naturally serialized.

**A full disk** is refused at the door, never half-written: :meth:`SpanQueue.enqueue` first checks that the
data directory's filesystem (plus the free pages inside the queue file) keeps ``min_free_bytes`` free after
the batch, and raises :class:`DiskFullError` (OTLP ``UNAVAILABLE``) otherwise; a write SQLite still finds
no room for (``SQLITE_FULL``) is rolled back whole and raises the same error. The reserve is what moves and
deletes of spans already accepted use, so scoring and forwarding go on while intake is refused; those writes
never give up on a full disk either, they wait for space and try again (:data:`DISK_FULL_RETRY_S`), and
intake accepts again by itself as soon as forwarding or the operator freed space.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

from evaluator_service import span_keys
from evaluator_service.errors import EvaluatorError
from evaluator_service.local_sqlite import LocalSqliteFile, is_disk_full, transaction
from evaluator_service.packed_spans import pack_spans, unpack_spans

T = TypeVar("T")

logger = logging.getLogger(__name__)

DB_FILE_NAME = "queue.sqlite3"

ROW_SPANS = 512
"""Default of the most spans one packed row holds (the app passes ``export.batch_size``), so one row never
makes a re-export request larger than the configured batch."""

MAX_ROW_BYTES = 4 * 1024 * 1024
"""The most span bytes one packed row holds (a bigger group is split; a single larger span gets a row of
its own), keeping re-export requests small."""

MIN_FREE_BYTES = 64 * 1024 * 1024
"""Default of the free space intake leaves on the data directory's filesystem (``queue.min_free_bytes``)."""

DISK_FULL_RETRY_S = 0.5
"""Pause before a write of already-accepted spans (scored spans stored, delivered spans deleted) is tried
again after the disk was full."""

# Small columns first: SQLite reads a column stored after a large blob only by walking the blob's overflow
# pages, and packed rows are large.
_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state INTEGER NOT NULL,
    spans INTEGER NOT NULL DEFAULT 1,
    packed INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    resource BLOB NOT NULL,
    scope BLOB NOT NULL,
    span BLOB NOT NULL
)"""
_CREATE_INDEX = "CREATE INDEX IF NOT EXISTS spans_by_state ON spans (state, id)"

# A queue file from before packing has no spans/packed columns (every row is one unpacked span, which is what
# the defaults say). Its rows are copied, ids included, into a table of the current layout: adding the
# columns at the end instead would leave them behind the large blobs.
_UPGRADE = (
    "ALTER TABLE spans RENAME TO spans_before_packing",
    _CREATE_TABLE,
    "INSERT INTO spans (id, state, size, resource, scope, span) "
    "SELECT id, state, size, resource, scope, span FROM spans_before_packing ORDER BY id",
    "DROP TABLE spans_before_packing",
    _CREATE_INDEX,
)

_INSERT = "INSERT INTO spans (state, resource, scope, span, size, spans, packed) VALUES (?, ?, ?, ?, ?, ?, ?)"


class SpanState(IntEnum):
    """Where a queued span is in its life."""

    SCORE = 0
    EXPORT = 1


class QueueFullError(EvaluatorError):
    """Accepting the batch would exceed the configured queue limit; retrying later may succeed."""


class BatchTooLargeError(QueueFullError):
    """The batch alone exceeds the queue limit, so no retry can ever succeed."""


class DiskFullError(QueueFullError):
    """The data directory's filesystem has no room for the batch (below ``queue.min_free_bytes``, or
    SQLite said ``SQLITE_FULL``); nothing of the batch was written, and retrying later may succeed."""


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
        self._keys_pruned_at = 0.0
        """Bytes of ``SCORE`` rows: scoring writes each of them again (enriched) before deleting it."""

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
            conn.execute(_CREATE_TABLE)
            conn.execute(_CREATE_INDEX)
            conn.execute(span_keys.CREATE_TABLE)
            if "packed" not in {row[1] for row in conn.execute("PRAGMA table_info(spans)")}:
                for statement in _UPGRADE:
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
        rows, keys, duplicates = _without_known_spans(db, rows)
        if not rows:
            return duplicates
        values = [_row_values(row) for row in rows]
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
        free = self._free_bytes(db)
        # Spans to score are written twice (as they came, then enriched), the ones queued before included.
        if free - size - to_score - self.score_byte_count < self.min_free_bytes:
            raise DiskFullError(
                f"evaluator data directory is almost full ({free} bytes usable, {self.min_free_bytes} kept "
                f"free by queue.min_free_bytes); retry later"
            )
        now = time.time()
        try:
            with transaction(db):
                db.executemany(_INSERT, values)
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

    def _free_bytes(self, db: sqlite3.Connection) -> int:
        """Bytes a write can use: free space on the filesystem plus the queue file's own free pages, less
        what the file still grows by when the write-ahead log is checkpointed into it (until then the WAL
        holds the newest pages, so the file on disk can be much smaller than the database)."""
        fs = os.statvfs(self.path.parent)
        free_pages, pages, page_size = (int(db.execute(f"PRAGMA {name}").fetchone()[0])
                                        for name in ("freelist_count", "page_count", "page_size"))
        try:
            on_disk = self.path.stat().st_size
        except FileNotFoundError:
            on_disk = 0
        growth = max(0, pages * page_size - on_disk)
        return fs.f_bavail * fs.f_frsize + free_pages * page_size - growth

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
                db.executemany(_INSERT, values)
            self.byte_count += sum(v[4] for v in values) - sum(removed.values())
            self.score_byte_count += (sum(v[4] for v in values if v[0] == SpanState.SCORE)
                                      - sum(removed.values()))

        if scored:
            await self._run_until_stored(store, "storing scored spans")

    def _scored_rows(self, scored: Sequence[ScoredRow]) -> list[_RowValues]:
        rows: list[_RowValues] = []
        singles: dict[tuple[bytes, bytes], list[bytes]] = {}  # unpacked rows' spans, packed together here
        for s in scored:
            envelope = (s.row.resource, s.row.scope)
            if not s.row.packed:
                if s.count:  # 0: the span was dropped
                    singles.setdefault(envelope, []).append(s.spans)
            elif s.count:
                rows.append(_row_values(NewSpanGroup(*envelope, s.spans, s.count)))
            rows += (_row_values(NewSpan(SpanState.SCORE, *envelope, span)) for span in s.requeue)
        rows += (_row_values(group) for (resource, scope), spans in singles.items()
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


_RowValues = tuple[int, bytes, bytes, bytes, int, int, int]


def _without_known_spans(
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


def _row_values(row: NewSpan | NewSpanGroup) -> _RowValues:
    """The :data:`_INSERT` parameters of one new row."""
    if isinstance(row, NewSpanGroup):
        return int(row.state), row.resource, row.scope, row.spans, len(row.spans), row.count, 1
    return int(row.state), row.resource, row.scope, row.span, len(row.span), 1, 0
