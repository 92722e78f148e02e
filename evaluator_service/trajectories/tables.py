"""The trajectory buffer's SQLite tables: schema, row states, keys and the writes both the buffer and its
ingest step make (see :mod:`evaluator_service.trajectories.buffer` for what the tables mean)."""

from __future__ import annotations

import sqlite3
from enum import IntEnum

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS feed_spans (
        id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id BLOB NOT NULL, size INTEGER NOT NULL,
        resource BLOB NOT NULL, scope BLOB NOT NULL, span BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS feed_spans_by_trace ON feed_spans (trace_id, id)",
    """CREATE TABLE IF NOT EXISTS trajectories (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, trace_id BLOB, session_id TEXT, requests TEXT,
        bounding_span_id BLOB, state INTEGER NOT NULL, due_at REAL NOT NULL, last_seen REAL NOT NULL,
        first_seen REAL NOT NULL DEFAULT 0, idle_s REAL NOT NULL DEFAULT 0,
        spans INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
        truncated INTEGER NOT NULL DEFAULT 0, revision INTEGER NOT NULL DEFAULT -1)""",
    "CREATE INDEX IF NOT EXISTS trajectories_due ON trajectories (due_at)",
    """CREATE TABLE IF NOT EXISTS session_traces (
        session_id TEXT NOT NULL, trace_id BLOB NOT NULL, PRIMARY KEY (session_id, trace_id))""",
    "CREATE INDEX IF NOT EXISTS session_traces_by_trace ON session_traces (trace_id)",
)


class TrajectoryState(IntEnum):
    """A trajectory row's state."""

    OPEN = 0
    """Waiting for ``due_at`` (completion)."""
    DONE = 1
    """Scored, or nothing of its own to score; kept until ``due_at`` for late spans and sessions."""


def trace_key(trace_id: bytes) -> str:
    """The trajectory key of a trace."""
    return "t:" + trace_id.hex()


def session_key(session_id: str) -> str:
    """The trajectory key of a session."""
    return "s:" + session_id


def delete_trajectory(db: sqlite3.Connection, key: str) -> None:
    row = db.execute("SELECT kind, trace_id, session_id FROM trajectories WHERE key = ?", (key,)).fetchone()
    db.execute("DELETE FROM trajectories WHERE key = ?", (key,))
    if row is None:
        return
    kind, trace_id, session_id = row
    if kind == "session":
        db.execute("DELETE FROM session_traces WHERE session_id = ?", (session_id,))
    else:
        db.execute("DELETE FROM session_traces WHERE trace_id = ?", (trace_id,))
        db.execute("DELETE FROM feed_spans WHERE trace_id = ?", (trace_id,))


class transaction:
    """``with transaction(db):`` one ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
