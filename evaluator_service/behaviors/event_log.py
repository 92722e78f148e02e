"""The :class:`~evaluator_service.behaviors.events.BehaviorEventLog` over the shared state database.

::

    log = StateBehaviorEventLog(state)
    events = await log.events_after(cursor, limit=100)    # oldest first; keep events[-1].sequence as cursor

The log is written by the state layer in the transaction that makes each transition (see
:mod:`evaluator_service.state.behavior_event_rows`), so every replica reads the same events in the same
order, and a transition seen by two replicas is one event.
"""

from __future__ import annotations

from evaluator_service.behaviors.events import BehaviorEvent, BehaviorEventKind
from evaluator_service.state.behavior_event_rows import BehaviorEventRows
from evaluator_service.state.behavior_records import StoredBehaviorEvent


class StateBehaviorEventLog:
    """Reads lifecycle events from the state database (SQLite or PostgreSQL)."""

    def __init__(self, state: BehaviorEventRows) -> None:
        self._state = state

    async def events_after(self, sequence: int, limit: int = 100) -> list[BehaviorEvent]:
        """Events whose ``sequence`` is greater than ``sequence`` (0: from the start), at most ``limit``."""
        return [behavior_event(row) for row in await self._state.behavior_events_after(sequence, limit)]


def behavior_event(row: StoredBehaviorEvent) -> BehaviorEvent:
    """A stored event row as the contract's :class:`BehaviorEvent`."""
    body = row.body
    return BehaviorEvent(
        sequence=row.sequence, event_id=row.event_id, kind=BehaviorEventKind(row.kind),
        behavior_id=row.behavior_id, name=str(body.get("name", "")), scorer=str(body.get("scorer", "")),
        severity=str(body.get("severity", "")), state=str(body.get("state", "")), at=row.at,
        member_count=int(body.get("member_count", 0)), services=tuple(body.get("services", ())),
        agents=tuple(body.get("agents", ())), example_trace_ids=tuple(body.get("example_trace_ids", ())),
        attributes=dict(body.get("attributes", {})),
    )
