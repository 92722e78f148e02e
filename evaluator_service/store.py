"""The durable queue: every accepted span lives in SQLite until the downstream acknowledged it.

One database file, ``<data_dir>/queue.sqlite3``, in WAL mode with ``synchronous=FULL`` so a committed
transaction survives a power cut. Each span is one row holding its own serialized OTLP ``Span`` plus the
serialized ``Resource`` and ``InstrumentationScope`` it arrived under (as ``ResourceSpans``/``ScopeSpans``
with their span lists emptied, which keeps the schema URLs too). A row is in one of two states:

* ``SCORE`` — waiting for a worker; the worker replaces the span bytes with the enriched span and moves
  the row to ``EXPORT`` in one transaction.
* ``EXPORT`` — waiting for the forwarder, which deletes the row only after the downstream answered OK.

That gives at-least-once delivery: a crash between the downstream's OK and the delete re-sends the span
after restart.
Pauses and uploaded scorers are shared state and live in :mod:`evaluator_service.state` instead.

SQLite calls run on one dedicated thread (the connection never leaves it), so the event loop never blocks
on disk and writes are naturally serialized.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DB_FILE_NAME = "queue.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state INTEGER NOT NULL,
    resource BLOB NOT NULL,
    scope BLOB NOT NULL,
    span BLOB NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spans_by_state ON spans (state, id);
"""


class SpanState(IntEnum):
    """Where a queued span is in its life."""

    SCORE = 0
    EXPORT = 1


class QueueFullError(Exception):
    """Accepting the batch would exceed the configured queue limit; retrying later may succeed."""


class BatchTooLargeError(QueueFullError):
    """The batch alone exceeds the queue limit, so no retry can ever succeed."""


@dataclass(frozen=True, slots=True)
class NewSpan:
    """A span to enqueue, with the serialized resource and scope envelopes it arrived under."""

    state: SpanState
    resource: bytes
    scope: bytes
    span: bytes


@dataclass(frozen=True, slots=True)
class QueuedSpan:
    """A span row read back from the queue."""

    id: int
    resource: bytes
    scope: bytes
    span: bytes


class SpanStore:
    """Async facade over the SQLite queue; create with :meth:`open`, finish with :meth:`close`."""

    def __init__(self, path: Path, max_spans: int, max_bytes: int) -> None:
        self.path = path
        self._max_spans = max_spans
        self._max_bytes = max_bytes
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judgeval-store")
        self._conn: sqlite3.Connection | None = None
        self.span_count = 0
        self.byte_count = 0

    @classmethod
    async def open(cls, data_dir: Path, max_spans: int, max_bytes: int) -> SpanStore:
        """Create the data dir and database if needed and load the queue's current size."""
        store = cls(data_dir / DB_FILE_NAME, max_spans, max_bytes)
        await store._run(store._open_sync)
        return store

    async def close(self) -> None:
        await self._run(self._close_sync)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("span store is closed")
        return self._conn

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        count, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM spans").fetchone()
        self.span_count, self.byte_count = int(count), int(size)
        self._conn = conn

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def enqueue(self, spans: Sequence[NewSpan]) -> None:
        """Durably add ``spans`` in one transaction; raises :class:`QueueFullError` over the limit."""
        await self._run(lambda: self._enqueue_sync(spans))

    def _enqueue_sync(self, spans: Sequence[NewSpan]) -> None:
        size = sum(len(s.span) for s in spans)
        if len(spans) > self._max_spans or size > self._max_bytes:
            raise BatchTooLargeError(
                f"one export of {len(spans)} spans ({size} bytes) exceeds the evaluator's queue limits "
                f"({self._max_spans} spans, {self._max_bytes} bytes); send smaller batches or raise "
                "queue.max_spans / queue.max_bytes"
            )
        if self.span_count + len(spans) > self._max_spans or self.byte_count + size > self._max_bytes:
            raise QueueFullError(
                f"evaluator queue is full ({self.span_count} spans, {self.byte_count} bytes queued)"
            )
        db = self._db()
        with _transaction(db):
            db.executemany(
                "INSERT INTO spans (state, resource, scope, span, size) VALUES (?, ?, ?, ?, ?)",
                [(int(s.state), s.resource, s.scope, s.span, len(s.span)) for s in spans],
            )
        self.span_count += len(spans)
        self.byte_count += size

    async def pending_scoring(self, after_id: int, limit: int) -> list[QueuedSpan]:
        """Spans waiting for a worker with ``id > after_id``, oldest first."""
        return await self._select(SpanState.SCORE, after_id, limit)

    async def pending_export(self, limit: int, exclude: Collection[int] = ()) -> list[QueuedSpan]:
        """Spans ready for the downstream, oldest first, leaving out the row ids in ``exclude`` (the ones
        already being sent)."""
        return await self._select(SpanState.EXPORT, 0, limit, exclude)

    async def _select(
        self, state: SpanState, after_id: int, limit: int, exclude: Collection[int] = ()
    ) -> list[QueuedSpan]:
        skip = f" AND id NOT IN ({','.join('?' * len(exclude))})" if exclude else ""

        def query() -> list[QueuedSpan]:
            rows = self._db().execute(
                f"SELECT id, resource, scope, span FROM spans WHERE state = ? AND id > ?{skip} "
                "ORDER BY id LIMIT ?",
                (int(state), after_id, *exclude, limit),
            )
            return [QueuedSpan(*row) for row in rows]

        return await self._run(query)

    async def mark_scored(self, spans: Sequence[tuple[int, bytes]]) -> None:
        """Replace spans ``(row id, enriched bytes)`` with their enriched versions and hand them to the
        forwarder, in one transaction."""

        def update() -> None:
            db = self._db()
            marks = ",".join("?" * len(spans))
            old = db.execute(f"SELECT COALESCE(SUM(size), 0) FROM spans WHERE id IN ({marks})",
                             [row_id for row_id, _ in spans]).fetchone()[0]
            with _transaction(db):
                db.executemany(
                    "UPDATE spans SET state = ?, span = ?, size = ? WHERE id = ?",
                    [(int(SpanState.EXPORT), data, len(data), row_id) for row_id, data in spans],
                )
            self.byte_count += sum(len(data) for _, data in spans) - int(old)

        if spans:
            await self._run(update)

    async def delete(self, ids: Sequence[int]) -> None:
        """Forget spans the downstream acknowledged."""

        def delete_sync() -> None:
            db = self._db()
            marks = ",".join("?" * len(ids))
            with _transaction(db):
                sizes = db.execute(f"DELETE FROM spans WHERE id IN ({marks}) RETURNING size", ids).fetchall()
            self.span_count -= len(sizes)
            self.byte_count -= sum(size for (size,) in sizes)

        if ids:
            await self._run(delete_sync)


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``/``ROLLBACK`` on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
