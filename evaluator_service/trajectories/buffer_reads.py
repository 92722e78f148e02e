"""What the trajectory buffer reads back: the rows it hands to completion and scoring, and the queries that
read them (run on the buffer's thread by :class:`~evaluator_service.trajectories.buffer.TrajectoryBuffer`).

The seam with :mod:`~evaluator_service.trajectories.buffer`: these functions only read, so they keep no
counts; the buffer's writes (ingest, eviction, finish, delete) keep its span-byte and trajectory counts.
What the tables and columns mean: :mod:`~evaluator_service.trajectories.buffer`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from evaluator_service.trajectories.tables import SELECT_SPANS, TrajectoryState, trace_key


@dataclass(frozen=True, slots=True)
class Trajectory:
    """A trajectory row as read for completion: see :mod:`~evaluator_service.trajectories.buffer` for the
    columns."""

    key: str
    kind: str
    trace_id: bytes | None
    session_id: str | None
    requests: str | None
    bounding_span_id: bytes | None
    state: TrajectoryState
    revision: int
    truncated: int


@dataclass(frozen=True, slots=True)
class BufferedSpan:
    """A buffered span copy with the envelopes it arrived under."""

    resource: bytes
    scope: bytes
    span: bytes


def select_due(db: sqlite3.Connection, now: float, limit: int) -> list[Trajectory]:
    """Trajectories whose ``due_at`` has passed, earliest first."""
    rows = db.execute(
        "SELECT key, kind, trace_id, session_id, requests, bounding_span_id, state, revision, truncated"
        " FROM trajectories WHERE due_at <= ? ORDER BY due_at LIMIT ?",
        (now, limit),
    ).fetchall()
    return [Trajectory(r[0], r[1], r[2], r[3], r[4], r[5], TrajectoryState(r[6]), r[7], r[8]) for r in rows]


def select_session_traces(db: sqlite3.Connection, session_id: str) -> list[bytes]:
    """The trace ids a session covers, in the order they joined it."""
    return [
        r[0]
        for r in db.execute(
            "SELECT trace_id FROM session_traces WHERE session_id = ? ORDER BY rowid", (session_id,)
        )
    ]


def select_spans_of(db: sqlite3.Connection, trace_ids: Sequence[bytes]) -> list[BufferedSpan]:
    """Every buffered span of ``trace_ids``, in arrival order per trace."""
    return [BufferedSpan(*r) for trace_id in trace_ids for r in db.execute(SELECT_SPANS, (trace_id,))]


def select_trace_times(
    db: sqlite3.Connection, trace_ids: Sequence[bytes]
) -> dict[bytes, tuple[float, float]]:
    """When each trace's first and last span reached this replica (traces not buffered are left out)."""
    times = {}
    for t in trace_ids:
        found = db.execute(
            "SELECT first_seen, last_seen FROM trajectories WHERE key = ?", (trace_key(t),)
        ).fetchone()
        if found is not None:
            times[t] = (float(found[0]), float(found[1]))
    return times


def count_truncated(db: sqlite3.Connection, trace_ids: Sequence[bytes]) -> int:
    """Spans of ``trace_ids`` refused over the per-trajectory bound."""
    return sum(
        int(
            db.execute(
                "SELECT COALESCE(SUM(truncated), 0) FROM trajectories WHERE key = ?", (trace_key(t),)
            ).fetchone()[0]
        )
        for t in trace_ids
    )


def is_covered_by_session(db: sqlite3.Connection, trace_id: bytes) -> bool:
    """Whether a buffered session still covers ``trace_id``."""
    found = db.execute("SELECT 1 FROM session_traces WHERE trace_id = ? LIMIT 1", (trace_id,)).fetchone()
    return found is not None
