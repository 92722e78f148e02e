"""Sessions scored across replicas: the parts each replica holds, and a lease so exactly one scores.

The collector balances by trace id, so the traces of one session may sit on several replicas. When a
replica's own part of a session has been idle long enough it *publishes* that part (per trace: the spans as
the trajectory JSON form, and when the trace was first and last seen there), then reads every replica's
parts. The session is complete when the newest ``last_seen`` of all parts is ``session_idle_s`` old; then
the replica that takes the lease (free, expired, or already its own) scores the whole session and records
``scored_through`` (the ``last_seen`` it covered) and the result's revision. A replica finding the session
already scored through the newest ``last_seen`` does nothing; a session that resumed has a newer
``last_seen`` and is scored again under the next revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from evaluator_service.state import schema
from evaluator_service.state.transaction import TransactionSource


@dataclass(frozen=True, slots=True)
class SessionPart:
    """One trace of a session as one replica published it (``part`` is JSON the trajectory code owns)."""

    trace_id: str
    replica: str
    first_seen: float
    last_seen: float
    part: str


@dataclass(frozen=True, slots=True)
class SessionLease:
    """Who may score a session until ``expires_at``, and what was scored last."""

    holder: str
    expires_at: float
    revision: int
    scored_through: float


class SessionState(Protocol):
    """The session part of the shared state."""

    async def publish_session_part(self, session_id: str, part: SessionPart) -> None:
        """Insert or replace this trace's part of the session."""
        ...

    async def announce_session_part(self, session_id: str, part: SessionPart) -> None:
        """Record that a replica holds this trace of the session (an empty ``part``), unless it is known."""
        ...

    async def session_parts(self, session_id: str) -> list[SessionPart]:
        """Every announced or published part of the session, oldest trace first."""
        ...

    async def take_session_lease(
        self, session_id: str, holder: str, now: float, seconds: float
    ) -> SessionLease:
        """Take the lease if it is free, expired or ``holder``'s; returns the lease as it now stands."""
        ...

    async def session_scored(
        self, session_id: str, holder: str, revision: int, scored_through: float
    ) -> None:
        """Record a score of the session (and release the lease), if ``holder`` still holds it."""
        ...

    async def forget_session(self, session_id: str) -> None:
        """Drop the session's parts and lease (after its retention)."""
        ...


class SqlSessionRows(TransactionSource):
    """:class:`SessionState` over the backend's transactions."""

    async def publish_session_part(self, session_id: str, part: SessionPart) -> None:
        async with self._transaction() as tx:
            await tx.execute(
                schema.UPSERT_SESSION_PART,
                (session_id, part.trace_id, part.replica, part.first_seen, part.last_seen, part.part),
            )

    async def announce_session_part(self, session_id: str, part: SessionPart) -> None:
        async with self._transaction() as tx:
            await tx.execute(
                schema.ANNOUNCE_SESSION_PART,
                (session_id, part.trace_id, part.replica, part.first_seen, part.last_seen, part.part),
            )

    async def session_parts(self, session_id: str) -> list[SessionPart]:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_SESSION_PARTS, (session_id,))
        return [SessionPart(str(t), str(r), float(f), float(last), str(p)) for t, r, f, last, p in rows]

    async def take_session_lease(
        self, session_id: str, holder: str, now: float, seconds: float
    ) -> SessionLease:
        async with self._transaction() as tx:
            await tx.lock(f"session:{session_id}")
            await tx.execute(schema.INSERT_SESSION_LEASE, (session_id, holder, now + seconds))
            await tx.execute(schema.TAKE_SESSION_LEASE, (holder, now + seconds, session_id, holder, now))
            rows = await tx.execute(schema.SELECT_SESSION_LEASE, (session_id,))
        h, expires, revision, through = rows[0]
        return SessionLease(str(h), float(expires), int(revision), float(through))

    async def session_scored(
        self, session_id: str, holder: str, revision: int, scored_through: float
    ) -> None:
        async with self._transaction() as tx:
            await tx.execute(schema.SESSION_SCORED, (revision, scored_through, session_id, holder))

    async def forget_session(self, session_id: str) -> None:
        async with self._transaction() as tx:
            await tx.execute(schema.DELETE_SESSION, (session_id,))
            await tx.execute(schema.DELETE_SESSION_LEASE, (session_id,))
