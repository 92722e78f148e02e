"""The durable trajectory buffer: feed copies of spans, grouped into trajectories, until they are scored.

One SQLite file per replica, ``<data_dir>/trajectories.sqlite3``, in WAL mode with ``synchronous=FULL``
like the span queue: a feed export is acknowledged only after its spans are committed, so buffered
trajectories survive SIGKILL and restart. Calls run on one dedicated thread
(:mod:`evaluator_service.local_sqlite`). The queries that only read rows back, and the row types they make,
are in :mod:`~evaluator_service.trajectories.buffer_reads`; this module keeps the writes and their counts.

Three tables:

* ``feed_spans`` — one row per buffered span copy (serialized ``Span``, and its resource and scope envelopes
  by id in ``envelopes``, which holds each distinct envelope once),
  keyed by trace id.
* ``trajectories`` — one row per trace seen on the feed (key ``t:<trace id hex>``) and per session (key
  ``s:<session id>``): the requests of its bounding span (``NULL`` until it arrived), its state (``OPEN``:
  waiting until ``due_at``; ``DONE``: scored or nothing to score, kept until ``due_at`` for late spans),
  span and byte counts, the spans refused over the per-trajectory bound, and the revision of its result.
* ``session_traces`` — which traces a session covers.

What *when* means (grace, idle timers, the late-span policy) is decided by
:class:`~evaluator_service.trajectories.completion.CompletionPolicy`; this module only stores and counts.

Bounds: ``max_spans_per_trajectory`` per trace (further spans are counted ``truncated`` on the trajectory and
not stored; the bounding span, the end marker, is always stored), ``max_bytes`` of buffered span bytes and
``max_trajectories`` rows overall. Over a global bound, DONE trajectories (already scored, kept only for
late spans) are evicted oldest first (counted); when that is not enough the export is refused with
:class:`BufferFullError` (OTLP ``UNAVAILABLE``, which collectors retry), and so is a data directory short of
free space.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluator_service.errors import EvaluatorError
from evaluator_service.local_sqlite import LocalSqliteFile, is_disk_full, transaction
from evaluator_service.trajectories.buffer_reads import (
    BufferedSpan,
    Trajectory,
    count_truncated,
    is_covered_by_session,
    select_due,
    select_session_traces,
    select_spans_of,
    select_trace_times,
)
from evaluator_service.trajectories.completion import CompletionPolicy
from evaluator_service.trajectories.feed import FeedSpan
from evaluator_service.trajectories.ingest import FeedIngest
from evaluator_service.trajectories.tables import (
    DELETE_UNUSED_ENVELOPES,
    SCHEMA,
    TrajectoryState,
    add_missing_columns,
    delete_trajectory,
    session_key,
    trace_key,
)

DB_FILE_NAME = "trajectories.sqlite3"
ENVELOPE_GC_EVERY = 256
"""Deleted trajectories between two sweeps of envelopes no buffered span uses any more."""


class BufferFullError(EvaluatorError):
    """The buffer has no room for the export (a global bound, or the disk); retrying later may succeed."""


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """What one feed export did: spans stored, refused over a trajectory's bound, or late beyond policy."""

    buffered: int = 0
    truncated: int = 0
    late: int = 0
    evicted: int = 0
    joined: tuple[tuple[str, bytes], ...] = ()
    """(session id, trace id) of traces that joined a session (announced to the other replicas)."""


class TrajectoryBuffer(LocalSqliteFile):
    """Async facade over the SQLite buffer; create with :meth:`open`, finish with :meth:`close`."""

    def __init__(
        self,
        path: Path,
        policy: CompletionPolicy,
        max_bytes: int,
        max_trajectories: int,
        max_spans_per_trajectory: int,
        min_free_bytes: int,
    ) -> None:
        super().__init__(path, "judgeval-trajectories", "trajectory buffer")
        self._policy = policy
        self._max_bytes = max_bytes
        self._max_trajectories = max_trajectories
        self._max_spans = max_spans_per_trajectory
        self._min_free = min_free_bytes
        self.byte_count = 0
        self.trajectory_count = 0
        self._deletions = 0

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        policy: CompletionPolicy,
        *,
        max_bytes: int,
        max_trajectories: int,
        max_spans_per_trajectory: int,
        min_free_bytes: int = 0,
    ) -> TrajectoryBuffer:
        buffer = cls(
            data_dir / DB_FILE_NAME,
            policy,
            max_bytes,
            max_trajectories,
            max_spans_per_trajectory,
            min_free_bytes,
        )
        await buffer._run(buffer._open_sync)
        return buffer

    def _open_sync(self) -> None:
        conn = self._connect()
        with transaction(conn):
            for statement in SCHEMA:
                conn.execute(statement)
            add_missing_columns(conn)
            conn.execute(DELETE_UNUSED_ENVELOPES)
        self._conn = conn
        self._recount(conn)

    def _recount(self, db: sqlite3.Connection) -> None:
        self.byte_count = int(db.execute("SELECT COALESCE(SUM(size), 0) FROM feed_spans").fetchone()[0])
        self.trajectory_count = int(db.execute("SELECT COUNT(*) FROM trajectories").fetchone()[0])

    async def ingest(self, spans: Sequence[FeedSpan], now: float) -> IngestCounts:
        """Durably buffer ``spans`` in one transaction (raises :class:`BufferFullError`, storing nothing)."""
        return await self._run(lambda: self._ingest_sync(spans, now))

    def _ingest_sync(self, spans: Sequence[FeedSpan], now: float) -> IngestCounts:
        db = self._db()
        size = sum(len(s.span) for s in spans)
        fs = os.statvfs(self.path.parent)
        if fs.f_bavail * fs.f_frsize - size < self._min_free:
            raise BufferFullError("evaluator data directory is almost full; retry later")
        try:
            with transaction(db):
                evicted = self._make_room(db, size, {s.trace_id for s in spans})
                counts = FeedIngest(db, self._policy, self._max_spans, now).run(spans)
        except sqlite3.OperationalError as exc:
            self._recount(db)
            if not is_disk_full(exc):
                raise
            raise BufferFullError("evaluator data directory is full; retry later") from None
        except BufferFullError:
            self._recount(db)
            raise
        self.byte_count += counts.bytes  # counted as it goes: a full recount would scan every span
        self.trajectory_count += counts.created
        return IngestCounts(counts.buffered, counts.truncated, counts.late, evicted, tuple(counts.joined))

    def _make_room(self, db: sqlite3.Connection, size: int, trace_ids: set[bytes]) -> int:
        """Evict DONE trajectories (oldest first, never one this export adds to) until the export fits."""
        keys = {trace_key(t) for t in trace_ids}
        known = {k for k in keys if db.execute("SELECT 1 FROM trajectories WHERE key = ?", (k,)).fetchone()}
        evicted = 0
        while (
            self.byte_count + size > self._max_bytes
            or self.trajectory_count + len(keys - known) > self._max_trajectories
        ):
            placeholders = ",".join("?" * len(keys))
            row = db.execute(
                f"SELECT key FROM trajectories WHERE state = ? AND key NOT IN ({placeholders})"
                " ORDER BY due_at LIMIT 1",
                (int(TrajectoryState.DONE), *sorted(keys)),
            ).fetchone()
            if row is None:
                raise BufferFullError(
                    f"trajectory buffer is full ({self.byte_count} bytes, {self.trajectory_count} "
                    "trajectories "
                    "waiting to be scored); retry later, or raise trajectories.max_bytes / max_trajectories"
                )
            self._forget(db, row[0])
            evicted += 1
        return evicted

    def _forget(self, db: sqlite3.Connection, key: str) -> None:
        rows, size = delete_trajectory(db, key)
        self.trajectory_count -= rows
        self.byte_count -= size
        self._deletions += 1
        if self._deletions % ENVELOPE_GC_EVERY == 0:
            db.execute(DELETE_UNUSED_ENVELOPES)

    async def due(self, now: float, limit: int = 64) -> list[Trajectory]:
        """Trajectories whose ``due_at`` has passed, earliest first."""
        return await self._run(lambda: select_due(self._db(), now, limit))

    async def session_traces(self, session_id: str) -> list[bytes]:
        """The trace ids a session covers, in the order they joined it."""
        return await self._run(lambda: select_session_traces(self._db(), session_id))

    async def spans_of(self, trace_ids: Sequence[bytes]) -> list[BufferedSpan]:
        """Every buffered span of ``trace_ids``, in arrival order per trace."""
        return await self._run(lambda: select_spans_of(self._db(), trace_ids))

    async def trace_times(self, trace_ids: Sequence[bytes]) -> dict[bytes, tuple[float, float]]:
        """When each trace's first and last span reached this replica."""
        return await self._run(lambda: select_trace_times(self._db(), trace_ids))

    async def truncated_in(self, trace_ids: Sequence[bytes]) -> int:
        """Spans of ``trace_ids`` refused over the per-trajectory bound."""
        return await self._run(lambda: count_truncated(self._db(), trace_ids))

    async def covered_by_session(self, trace_id: bytes) -> bool:
        """Whether a buffered session still covers ``trace_id``."""
        return await self._run(lambda: is_covered_by_session(self._db(), trace_id))

    async def finish(self, key: str, due_at: float, revision: int | None = None) -> None:
        """Mark ``key`` DONE until ``due_at`` (its result written as ``revision``, when it was scored)."""

        def update() -> None:
            with transaction(self._db()):
                self._db().execute(
                    "UPDATE trajectories SET state = ?, due_at = ?, revision = COALESCE(?, revision)"
                    " WHERE key = ?",
                    (int(TrajectoryState.DONE), due_at, revision, key),
                )

        await self._run(update)

    async def postpone(self, key: str, due_at: float) -> None:
        """Move ``key``'s deadline to ``due_at``, keeping its state (a failed attempt is tried again)."""

        def update() -> None:
            self._db().execute("UPDATE trajectories SET due_at = ? WHERE key = ?", (due_at, key))

        await self._run(update)

    async def delete(self, key: str) -> None:
        """Forget ``key`` (a trace's spans go with it, unless an existing session still covers the trace)."""

        def delete() -> None:
            db = self._db()
            try:
                with transaction(db):
                    self._forget(db, key)
            except sqlite3.Error:
                self._recount(db)
                raise

        await self._run(delete)



__all__ = [
    "BufferFullError",
    "BufferedSpan",
    "IngestCounts",
    "Trajectory",
    "TrajectoryBuffer",
    "TrajectoryState",
    "session_key",
    "trace_key",
]
