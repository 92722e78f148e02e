"""The trajectory buffer's SQLite tables: schema, row states, keys and the writes both the buffer and its
ingest step make (see :mod:`evaluator_service.trajectories.buffer` for what the tables mean)."""

from __future__ import annotations

import sqlite3
from enum import IntEnum

SCHEMA = (
    # Resource and scope envelopes once each, however many spans share them (they dominate small spans).
    "CREATE TABLE IF NOT EXISTS envelopes (id INTEGER PRIMARY KEY, data BLOB NOT NULL UNIQUE)",
    """CREATE TABLE IF NOT EXISTS feed_spans (
        id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id BLOB NOT NULL, size INTEGER NOT NULL,
        resource_id INTEGER NOT NULL, scope_id INTEGER NOT NULL, span BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS feed_spans_by_trace ON feed_spans (trace_id, id)",
    """CREATE TABLE IF NOT EXISTS trajectories (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, trace_id BLOB, session_id TEXT, requests TEXT,
        bounding_span_id BLOB, state INTEGER NOT NULL, due_at REAL NOT NULL, last_seen REAL NOT NULL,
        first_seen REAL NOT NULL DEFAULT 0, idle_s REAL NOT NULL DEFAULT 0,
        spans INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
        truncated INTEGER NOT NULL DEFAULT 0, revision INTEGER NOT NULL DEFAULT -1, grace_s REAL)""",
    "CREATE INDEX IF NOT EXISTS trajectories_due ON trajectories (due_at)",
    """CREATE TABLE IF NOT EXISTS session_traces (
        session_id TEXT NOT NULL, trace_id BLOB NOT NULL, PRIMARY KEY (session_id, trace_id))""",
    "CREATE INDEX IF NOT EXISTS session_traces_by_trace ON session_traces (trace_id)",
)

ADDED_COLUMNS = (("trajectories", "grace_s", "REAL"),)
"""Columns added after the first release of the buffer: a buffer file written before gets them on open."""


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a buffer file an older evaluator wrote up to :data:`SCHEMA` (inside the open transaction)."""
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


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


def delete_trajectory(db: sqlite3.Connection, key: str) -> tuple[int, int]:
    """Delete ``key`` (a trace's spans with it); returns the rows and span bytes it took."""
    row = db.execute(
        "SELECT kind, trace_id, session_id, bytes FROM trajectories WHERE key = ?", (key,)
    ).fetchone()
    db.execute("DELETE FROM trajectories WHERE key = ?", (key,))
    if row is None:
        return 0, 0
    kind, trace_id, session_id, size = row
    if kind == "session":
        db.execute("DELETE FROM session_traces WHERE session_id = ?", (session_id,))
        return 1, 0
    db.execute("DELETE FROM session_traces WHERE trace_id = ?", (trace_id,))
    db.execute("DELETE FROM feed_spans WHERE trace_id = ?", (trace_id,))
    return 1, int(size)


SELECT_SPANS = """SELECT r.data, s.data, f.span FROM feed_spans f JOIN envelopes r ON r.id = f.resource_id
    JOIN envelopes s ON s.id = f.scope_id WHERE f.trace_id = ? ORDER BY f.id"""
DELETE_UNUSED_ENVELOPES = """DELETE FROM envelopes WHERE id NOT IN (SELECT resource_id FROM feed_spans)
    AND id NOT IN (SELECT scope_id FROM feed_spans)"""


def envelope_id(db: sqlite3.Connection, data: bytes, cache: dict[bytes, int]) -> int:
    """The row id of an envelope, stored once."""
    found = cache.get(data)
    if found is None:
        db.execute("INSERT OR IGNORE INTO envelopes (data) VALUES (?)", (data,))
        found = cache[data] = int(
            db.execute("SELECT id FROM envelopes WHERE data = ?", (data,)).fetchone()[0]
        )
    return found
