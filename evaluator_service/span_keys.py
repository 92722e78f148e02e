"""The ids of the spans to score the evaluator accepted, so a span that arrives twice is scored once.

A collector re-sends an export whose answer it did not get (a timeout, or the evaluator killed between its
commit and its answer): every span of it arrives again, and without this each copy would be scored, counted
in the score metrics, grouped, alerted on and exported once more. The queue keeps, in its own file, a
table of ``trace_id + span_id`` of every span it accepted *to score*, written in the same transaction as
the spans (so a killed evaluator never has one without the other), and drops a span to score whose id is
there already, or that came twice in one export. Keys are kept :data:`KEEP_S` seconds, three times as long
as a collector retries by default (``retry_on_failure.max_elapsed_time``: 300 s), and at most the newest
:data:`KEEP_AT_MOST` (about 150 MB of queue file), so a long burst of tagged spans cannot fill the disk
with keys.

These functions run on the queue's database thread, inside its transactions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

KEEP_S = 900.0
"""How long the id of an accepted span to score is remembered."""

KEEP_AT_MOST = 2_000_000
"""The most ids remembered; the oldest go first."""

PRUNE_EVERY_S = 60.0
"""How often forgotten keys are deleted (at most; during an enqueue)."""

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS span_keys (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,
    at REAL NOT NULL
)"""

_LOOKUP_CHUNK = 500
"""Keys per ``IN (...)`` query (SQLite allows 32,766 parameters; smaller statements are cached better)."""


def span_key(trace_id: bytes, span_id: bytes) -> bytes:
    """A span's identity: its trace id then its span id."""
    return trace_id + span_id


def known_keys(db: sqlite3.Connection, keys: Iterable[bytes]) -> set[bytes]:
    """The ``keys`` already in the table."""
    wanted = list(dict.fromkeys(keys))
    found: set[bytes] = set()
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start:start + _LOOKUP_CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(row[0] for row in db.execute(f"SELECT key FROM span_keys WHERE key IN ({marks})", chunk))
    return found


def remember(db: sqlite3.Connection, keys: Sequence[bytes], now: float) -> None:
    """Record accepted keys (call inside the transaction that stores their spans)."""
    db.executemany("INSERT OR IGNORE INTO span_keys (key, at) VALUES (?, ?)", ((key, now) for key in keys))


def forget_before(db: sqlite3.Connection, before: float, keep_at_most: int = KEEP_AT_MOST) -> int:
    """Delete keys recorded before ``before``, and the oldest beyond the newest ``keep_at_most``; returns
    how many. Ids grow with time, so the oldest rows are the lowest ids and the scan for the first key to
    keep stops there."""
    (newest,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM span_keys").fetchone()
    row = db.execute("SELECT id FROM span_keys WHERE at >= ? ORDER BY id LIMIT 1", (before,)).fetchone()
    first_kept = max(row[0] if row is not None else newest + 1, newest - keep_at_most + 1)
    return int(db.execute("DELETE FROM span_keys WHERE id < ?", (first_kept,)).rowcount)
