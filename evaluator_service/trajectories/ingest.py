"""One feed export applied to the buffer's tables, inside the buffer's transaction: per span, the trace's row
(created on its first span), the per-trajectory bound, the late-span policy, the bounding span's requests
and the session it joins."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from evaluator_service.trajectories.completion import CompletionPolicy, Tracked
from evaluator_service.trajectories.feed import FeedSpan
from evaluator_service.trajectories.tables import TrajectoryState, envelope_id, session_key, trace_key


class FeedIngest:
    """One export's spans applied to the tables inside the caller's transaction."""

    def __init__(self, db: sqlite3.Connection, policy: CompletionPolicy, max_spans: int, now: float) -> None:
        self.db, self.policy, self.max_spans, self.now = db, policy, max_spans, now
        self.buffered = self.truncated = self.late = 0
        self._envelopes: dict[bytes, int] = {}
        self.bytes = 0
        """Span bytes stored."""
        self.created = 0
        """Trajectory rows created (traces and sessions)."""
        self.joined: list[tuple[str, bytes]] = []
        """(session id, trace id) of traces that joined a session in this export."""

    def run(self, spans: Sequence[FeedSpan]) -> FeedIngest:
        for span in spans:
            self._one(span)
        return self

    def _one(self, span: FeedSpan) -> None:
        key = trace_key(span.trace_id)
        row = self.db.execute(
            "SELECT state, spans, revision, requests, idle_s, grace_s FROM trajectories WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            self.created += 1
            self.db.execute(
                "INSERT INTO trajectories (key, kind, trace_id, state, due_at, last_seen, first_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    "trace",
                    span.trace_id,
                    int(TrajectoryState.OPEN),
                    self.policy.unbounded_due(self.now),
                    self.now,
                    self.now,
                ),
            )
            state, count, revision, requests, idle, grace = TrajectoryState.OPEN, 0, -1, None, 0.0, None
        else:
            state, (count, revision, requests, idle, grace) = TrajectoryState(row[0]), tuple(row[1:])
        if count >= self.max_spans and span.requests is None:  # the end marker is always kept
            self.truncated += 1
            self.db.execute("UPDATE trajectories SET truncated = truncated + 1 WHERE key = ?", (key,))
            return
        tracked = Tracked(state=state, has_requests=requests is not None, revision=revision, grace_s=grace)
        late = self.policy.on_late_span(tracked, self.now) if state is TrajectoryState.DONE else None
        if late is not None and late.refuse and not self._in_session(span.trace_id):
            self.late += 1
            return
        self.db.execute(
            "INSERT INTO feed_spans (trace_id, size, resource_id, scope_id, span) VALUES (?, ?, ?, ?, ?)",
            (
                span.trace_id,
                len(span.span),
                envelope_id(self.db, span.resource, self._envelopes),
                envelope_id(self.db, span.scope, self._envelopes),
                span.span,
            ),
        )
        self.db.execute(
            "UPDATE trajectories SET spans = spans + 1, bytes = bytes + ?, last_seen = ? WHERE key = ?",
            (len(span.span), self.now, key),
        )
        self.buffered += 1
        self.bytes += len(span.span)
        if (
            idle and state is TrajectoryState.OPEN and requests is not None
        ):  # a rule-bounded trace: still busy
            self.db.execute("UPDATE trajectories SET due_at = ? WHERE key = ?", (self.now + idle, key))
        if late is not None and not late.refuse:
            self.db.execute(
                "UPDATE trajectories SET state = ?, due_at = ? WHERE key = ?",
                (int(TrajectoryState.OPEN), late.due_at, key),
            )
        if span.requests is not None:
            self._bound(key, span)
        self._touch_sessions(span.trace_id)

    def _bound(self, key: str, span: FeedSpan) -> None:
        """The bounding span arrived: store its requests, set the grace, join its session."""
        trace_requests = span.requests_of_scope("trace")
        if trace_requests:
            due = self.policy.bounded_due(self.now, span.grace_s)
        else:
            due = self.policy.held_due(self.now)
        if trace_requests and span.idle_s:  # bounded by a rule: no end marker, wait for silence
            due = self.now + span.idle_s
        state = TrajectoryState.OPEN if trace_requests else TrajectoryState.DONE
        self.db.execute(
            "UPDATE trajectories SET requests = ?, bounding_span_id = ?, state = ?, due_at = ?, idle_s = ?,"
            " grace_s = ? WHERE key = ?",
            (trace_requests, span.span_id, int(state), due, span.idle_s or 0.0, span.grace_s, key),
        )
        session_requests = span.requests_of_scope("session")
        if session_requests and span.session_id:
            skey = session_key(span.session_id)
            known = self.db.execute("SELECT 1 FROM trajectories WHERE key = ?", (skey,)).fetchone()
            self.created += known is None
            self.db.execute(
                "INSERT INTO trajectories (key, kind, session_id, requests, bounding_span_id, trace_id,"
                " state, due_at, last_seen) VALUES (?, 'session', ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET"
                " requests = excluded.requests, bounding_span_id = excluded.bounding_span_id,"
                " trace_id = excluded.trace_id",
                (
                    skey,
                    span.session_id,
                    session_requests,
                    span.span_id,
                    span.trace_id,
                    int(TrajectoryState.OPEN),
                    self.policy.session_due(self.now),
                    self.now,
                ),
            )
            joined = self.db.execute(
                "INSERT OR IGNORE INTO session_traces (session_id, trace_id) VALUES (?, ?)",
                (span.session_id, span.trace_id),
            )
            if joined.rowcount:
                self.joined.append((span.session_id, span.trace_id))

    def _in_session(self, trace_id: bytes) -> bool:
        return (
            self.db.execute("SELECT 1 FROM session_traces WHERE trace_id = ? LIMIT 1", (trace_id,)).fetchone()
            is not None
        )

    def _touch_sessions(self, trace_id: bytes) -> None:
        """A span of a session's trace keeps the session open (and re-opens a scored one: it resumed)."""
        self.db.execute(
            "UPDATE trajectories SET state = ?, due_at = ?, last_seen = ?"
            " WHERE kind = 'session' AND session_id IN"
            " (SELECT session_id FROM session_traces WHERE trace_id = ?)",
            (int(TrajectoryState.OPEN), self.policy.session_due(self.now), self.now, trace_id),
        )
