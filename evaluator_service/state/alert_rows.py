"""Alert state replicas share: one status row per alert, per-bucket score counts (so windows are shared),
and the history of every transition.

:meth:`SqlAlertRows.judge_alert` is the one decision point: in one transaction holding a per-alert lock
(PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE``) it reads the status and the window counts, lets
the caller's pure :data:`AlertJudge` decide, and writes the new status, the history rows and the outbox
rows of the notifications the transition causes. A second replica judging the same alert waits, then
reads the first one's result, so one transition is one notification however many replicas run.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evaluator_service.state import schema
from evaluator_service.state.transaction import Transaction, TransactionSource

OK = "ok"
"""Stored state of a new alert."""
OUTBOX_PENDING = "pending"
OUTBOX_DELIVERED = "delivered"
OUTBOX_FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Score events in one window: scores (with their failures, min and max) and scoring errors."""

    scores: int = 0
    failures: int = 0
    errors: int = 0
    min_value: float | None = None
    max_value: float | None = None

    @property
    def events(self) -> int:
        return self.scores + self.errors


@dataclass(frozen=True, slots=True)
class CountRow:
    """Counts of one alert in one bucket (start second), added to the shared buckets."""

    alert: str
    bucket: int
    scores: int
    failures: int
    errors: int
    min_value: float | None
    max_value: float | None


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """One alert's shared state. ``episode`` is the dedup key of the current firing episode."""

    name: str
    state: str
    severity: str | None
    state_since: float
    pending_since: float | None
    last_notified_at: float | None
    last_value: float | None
    episode: str | None
    fired_count: int
    created_at: float


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One transition (or behavior notification) of one alert. ``event_id`` names the notification it
    caused (``None``: none); ``silenced_by`` the silence that held it back."""

    id: str
    alert: str
    at: float
    from_state: str
    to_state: str
    severity: str | None
    observed: float | None
    event_id: str | None
    silenced_by: str | None
    detail: dict[str, Any] = field(default_factory=dict)


def history_id() -> str:
    """A history row id that sorts by creation (two transitions of one tick share their ``at``)."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


def notification_id() -> str:
    """A unique notification (event) id, 32 hex digits, that sorts by creation."""
    return f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One notification for one channel, waiting for (or done with) delivery. ``payload`` is JSON."""

    event_id: str
    channel: str
    alert: str
    created_at: float
    payload: str
    status: str = OUTBOX_PENDING
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_detail: str = ""


@dataclass(frozen=True)
class AlertWrites:
    """What one decision writes: the new status (``None``: unchanged), history and outbox rows."""

    status: AlertStatus | None = None
    history: Sequence[HistoryEntry] = ()
    outbox: Sequence[OutboxEntry] = ()


AlertJudge = Callable[[AlertStatus, Sequence[WindowCounts]], AlertWrites]
"""Given the locked status and the counts of the requested windows, what to write. Pure; called inside the
transaction."""


class AlertState(Protocol):
    """The alert status, counts and history part of the shared state."""

    async def add_alert_counts(self, rows: Sequence[CountRow]) -> None:
        """Add per-bucket counts to the shared buckets."""
        ...

    async def judge_alert(self, name: str, now: float, since_buckets: Sequence[int], prune_before: int,
                          judge: AlertJudge) -> AlertWrites:
        """Decide ``name`` under its lock (see the module docs); drops its buckets before ``prune_before``."""
        ...

    async def alert_statuses(self) -> list[AlertStatus]:
        """Every alert's status row, by name."""
        ...

    async def alert_history(self, name: str | None, limit: int) -> list[HistoryEntry]:
        """The newest ``limit`` history rows, of one alert or of all."""
        ...


class SqlAlertRows(TransactionSource):
    """:class:`AlertState` over the backend's transactions."""

    async def add_alert_counts(self, rows: Sequence[CountRow]) -> None:
        if not rows:
            return
        async with self._transaction() as tx:
            for r in rows:
                await tx.execute(schema.ADD_ALERT_COUNTS, (r.alert, r.bucket, r.scores, r.failures, r.errors,
                                                           r.min_value, r.max_value))

    async def judge_alert(self, name: str, now: float, since_buckets: Sequence[int], prune_before: int,
                          judge: AlertJudge) -> AlertWrites:
        async with self._transaction() as tx:
            status = await _locked_status(tx, name, now)
            await tx.execute(schema.PRUNE_ALERT_COUNTS, (name, prune_before))
            counts = [_counts((await tx.execute(schema.SELECT_ALERT_COUNTS, (name, since)))[0])
                      for since in since_buckets]
            writes = judge(status, counts)
            await write_alert_changes(tx, writes)
        return writes

    async def alert_statuses(self) -> list[AlertStatus]:
        async with self._transaction() as tx:
            return [_status(row) for row in await tx.execute(schema.SELECT_ALERT_STATUSES)]

    async def alert_history(self, name: str | None, limit: int) -> list[HistoryEntry]:
        async with self._transaction() as tx:
            rows = await (tx.execute(schema.SELECT_ALERT_HISTORY_OF, (name, limit)) if name is not None
                          else tx.execute(schema.SELECT_ALERT_HISTORY, (limit,)))
        return [_history(row) for row in rows]


async def _locked_status(tx: Transaction, name: str, now: float) -> AlertStatus:
    await tx.execute(schema.ENSURE_ALERT_STATUS, (name, OK, now, now))
    await tx.lock(f"judgeval-alert:{name}")
    return _status((await tx.execute(schema.SELECT_ALERT_STATUS, (name,)))[0])


async def write_alert_changes(tx: Transaction, writes: AlertWrites) -> None:
    """Apply ``writes`` inside ``tx`` (the status row must exist)."""
    s = writes.status
    if s is not None:
        await tx.execute(schema.UPDATE_ALERT_STATUS, (s.state, s.severity, s.state_since, s.pending_since,
                                                      s.last_notified_at, s.last_value, s.episode,
                                                      s.fired_count, s.name))
    for h in writes.history:
        await tx.execute(schema.INSERT_ALERT_HISTORY, (
            h.id, h.alert, h.at, h.from_state, h.to_state, h.severity, h.observed, h.event_id, h.silenced_by,
            json.dumps(h.detail, sort_keys=True)))
    for o in writes.outbox:
        await tx.execute(schema.INSERT_ALERT_OUTBOX, (o.event_id, o.channel, o.alert, o.created_at, o.payload,
                                                      OUTBOX_PENDING, o.next_attempt_at or o.created_at))


async def ensure_alert_status(tx: Transaction, name: str, now: float) -> AlertStatus:
    """The status row of ``name`` (created if missing) under its lock."""
    return await _locked_status(tx, name, now)


def _counts(row: tuple[Any, ...]) -> WindowCounts:
    scores, failures, errors, low, high = row
    return WindowCounts(int(scores), int(failures), int(errors), _opt(low), _opt(high))


def _status(row: tuple[Any, ...]) -> AlertStatus:
    name, state, severity, since, pending, notified, value, episode, fired, created = row
    return AlertStatus(str(name), str(state), severity, float(since), _opt(pending), _opt(notified),
                       _opt(value), episode, int(fired), float(created))


def _history(row: tuple[Any, ...]) -> HistoryEntry:
    hid, alert, at, before, after, severity, observed, event_id, silenced_by, detail = row
    return HistoryEntry(str(hid), str(alert), float(at), str(before), str(after), severity, _opt(observed),
                        event_id, silenced_by, json.loads(detail) if detail else {})


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
