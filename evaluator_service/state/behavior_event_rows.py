"""The durable behavior event log: one row per lifecycle transition, in one order every replica shares.

An event is appended inside the transaction that makes the transition (holding that behavior's lock), so
a transition and its event commit together or not at all, and a second replica re-reading the behavior
under the same lock sees the transition already made and appends nothing. Sequence numbers are assigned
under one more lock (the event log's), so they never repeat and commit in order: a reader following
``sequence > cursor`` never skips an event that commits later with a smaller number.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from judgeval import semconv

from evaluator_service.state import schema
from evaluator_service.state.behavior_records import StoredBehavior, StoredBehaviorEvent
from evaluator_service.state.transaction import Transaction, TransactionSource

EVENT_LOG_LOCK = "judgeval-behavior-events"
MAX_EVENTS_PER_READ = 1000


class BehaviorEventRows(Protocol):
    """The event-log part of the shared state."""

    async def behavior_events_after(self, sequence: int, limit: int = 100) -> list[StoredBehaviorEvent]:
        """Events with a sequence greater than ``sequence``, oldest first, at most ``limit`` (≤1000)."""
        ...


class SqlBehaviorEventRows(TransactionSource):
    """:class:`BehaviorEventRows` over the backend's transactions."""

    async def behavior_events_after(self, sequence: int, limit: int = 100) -> list[StoredBehaviorEvent]:
        bounded = max(1, min(int(limit), MAX_EVENTS_PER_READ))
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_BEHAVIOR_EVENTS_AFTER, (int(sequence), bounded))
        return [StoredBehaviorEvent(sequence=int(seq), event_id=str(eid), kind=str(kind),
                                    behavior_id=str(bid), at=float(at), body=json.loads(body))
                for seq, eid, kind, bid, at, body in rows]


async def append_event(tx: Transaction, kind: str, behavior: StoredBehavior, at: float) -> None:
    """Append ``kind`` for ``behavior`` (as it is after the transition) inside ``tx``; the caller holds the
    behavior's lock."""
    await tx.lock(EVENT_LOG_LOCK)
    body = event_body(behavior)
    await tx.execute(schema.INSERT_BEHAVIOR_EVENT, (
        f"evt_{uuid.uuid4().hex}", kind, behavior.id, at, json.dumps(body),
    ))


def event_body(b: StoredBehavior) -> dict[str, Any]:
    """What an event says about its behavior besides kind, id and time."""
    return {
        "name": b.name, "scorer": b.scorer, "severity": b.severity, "state": b.state,
        "member_count": b.member_count, "services": list(b.services), "agents": list(b.agents),
        "example_trace_ids": [e.trace_id for e in b.examples],
        "attributes": {"kind": b.kind, "scorers": list(b.scorers), "description": b.description,
                       # the first environment seen (what an alert filter on the environment matches)
                       semconv.DEPLOYMENT_ENVIRONMENT_NAME: b.environments[0] if b.environments else "",
                       "environments": list(b.environments)},
    }
