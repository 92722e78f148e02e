"""Silences (and maintenance windows: silences that start later) and the alert engine's read position in
the behavior event log, shared by replicas.

A silence holds back the notifications whose labels match all its matchers between ``starts_at`` and
``ends_at``; the transition is still stored (with the silence's id). Expiring a silence sets its end to
now, so the history of what was silenced stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evaluator_service.state import schema
from evaluator_service.state.alert_rows import (
    AlertStatus,
    AlertWrites,
    ensure_alert_status,
    write_alert_changes,
)
from evaluator_service.state.transaction import TransactionSource


@dataclass(frozen=True, slots=True)
class Silence:
    """Matchers (label → value; ``alert`` is the alert's name) and the time range they apply in."""

    id: str
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    comment: str = ""
    created_by: str = ""
    created_at: float = 0.0

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: dict[str, str]) -> bool:
        """Every matcher equals the label of that name."""
        return all(labels.get(key) == value for key, value in self.matchers.items())


CursorDecision = Callable[[int, dict[str, AlertStatus]], tuple[int, Sequence[AlertWrites]]]
"""Given the stored position and the locked statuses, the new position and what to write."""


@dataclass(frozen=True)
class CursorRequest:
    """Advance cursor ``name`` over alerts ``alerts`` at time ``now``."""

    name: str
    alerts: Sequence[str]
    now: float
    decide: CursorDecision = field(repr=False)


class AlertSilenceState(Protocol):
    """Silences and the behavior-event cursor."""

    async def add_silence(self, silence: Silence) -> None:
        ...

    async def silences(self, now: float) -> list[Silence]:
        """Silences not yet ended at ``now`` (active ones and those that start later)."""
        ...

    async def expire_silence(self, silence_id: str, now: float) -> bool:
        """End a silence now; ``False`` if there is no such unexpired silence."""
        ...

    async def advance_alert_cursor(self, request: CursorRequest) -> int:
        """Run ``request.decide`` under the cursor's lock, store its writes and new position; returns it."""
        ...


class SqlAlertSilences(TransactionSource):
    """:class:`AlertSilenceState` over the backend's transactions."""

    async def add_silence(self, silence: Silence) -> None:
        async with self._transaction() as tx:
            await tx.execute(schema.INSERT_ALERT_SILENCE, (
                silence.id, json.dumps(silence.matchers, sort_keys=True), silence.starts_at, silence.ends_at,
                silence.comment, silence.created_by, silence.created_at))

    async def silences(self, now: float) -> list[Silence]:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_ALERT_SILENCES, (now,))
        return [_silence(row) for row in rows]

    async def expire_silence(self, silence_id: str, now: float) -> bool:
        async with self._transaction() as tx:
            before = [s.id for s in map(_silence, await tx.execute(schema.SELECT_ALERT_SILENCES, (now,)))]
            if silence_id not in before:
                return False
            await tx.execute(schema.EXPIRE_ALERT_SILENCE, (now, silence_id, now))
        return True

    async def advance_alert_cursor(self, request: CursorRequest) -> int:
        async with self._transaction() as tx:
            await tx.execute(schema.ENSURE_ALERT_CURSOR, (request.name,))
            await tx.lock(f"judgeval-alert-cursor:{request.name}")
            position = int((await tx.execute(schema.SELECT_ALERT_CURSOR, (request.name,)))[0][0])
            statuses = {name: await ensure_alert_status(tx, name, request.now) for name in request.alerts}
            new_position, writes = request.decide(position, statuses)
            for w in writes:
                await write_alert_changes(tx, w)
            if new_position != position:
                await tx.execute(schema.UPDATE_ALERT_CURSOR, (new_position, request.name))
        return new_position


def _silence(row: Sequence[Any]) -> Silence:
    sid, matchers, starts, ends, comment, by, created = row
    return Silence(str(sid), dict(json.loads(matchers)), float(starts), float(ends), str(comment), str(by),
                   float(created))
