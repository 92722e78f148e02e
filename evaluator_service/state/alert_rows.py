"""Alert state replicas share: one row per alert (firing since, last notified, counts) and per-bucket
score counts, so rate windows are shared and two replicas never both notify within one cooldown.

A notification is claimed inside one transaction holding a per-alert lock (PostgreSQL advisory lock,
SQLite's ``BEGIN IMMEDIATE``): the second replica reads the first one's claim and stays silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from evaluator_service.state import schema
from evaluator_service.state.transaction import Transaction, TransactionSource

FIRING = "firing"
"""Stored state of an alert whose condition holds."""
OK = "ok"
"""Stored state of an alert whose condition does not hold (also a new alert's)."""


@dataclass(frozen=True, slots=True)
class AlertWindow:
    """The shared counts of one alert's window, and whether it is firing now."""

    total: int
    failures: int
    firing: bool


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """One alert's shared state as stored."""

    name: str
    state: str
    firing_since: float | None
    last_fired_at: float | None
    last_notified_at: float | None
    last_value: float | None
    fired_count: int


class AlertState(Protocol):
    """The alert part of the shared state (see :mod:`evaluator_service.state.contract`)."""

    async def add_alert_counts(self, rows: list[tuple[str, int, int, int]]) -> None:
        """Add ``(alert, bucket start second, total, failures)`` to the shared window buckets."""
        ...

    async def alert_window(self, name: str, since_bucket: int, prune_before: int) -> AlertWindow:
        """Counts of ``name`` in buckets ``>= since_bucket`` and its state; drops buckets before
        ``prune_before``."""
        ...

    async def claim_alert_firing(self, name: str, now: float, value: float, cooldown_s: float,
                                 only_on_transition: bool) -> bool:
        """Mark ``name`` firing; ``True`` when this caller should notify (it claimed the notification:
        no notification within ``cooldown_s``, and, if ``only_on_transition``, it was not firing)."""
        ...

    async def claim_alert_resolved(self, name: str, value: float) -> bool:
        """Mark ``name`` ok; ``True`` when this caller flipped it and its firing had been notified."""
        ...

    async def record_alert_value(self, name: str, value: float) -> None:
        """Store the latest observed value without changing the state."""
        ...

    async def alert_statuses(self) -> list[AlertStatus]:
        """Every alert row, by name."""
        ...


class SqlAlertRows(TransactionSource):
    """:class:`AlertState` over the backend's transactions. Alert writes do not bump the change counter:
    each decision reads the rows it needs inside its own transaction, so no replica caches them."""

    async def add_alert_counts(self, rows: list[tuple[str, int, int, int]]) -> None:
        if not rows:
            return
        async with self._transaction() as tx:
            for row in rows:
                await tx.execute(schema.ADD_ALERT_COUNTS, row)

    async def alert_window(self, name: str, since_bucket: int, prune_before: int) -> AlertWindow:
        async with self._transaction() as tx:
            await tx.execute(schema.PRUNE_ALERT_BUCKETS, (name, prune_before))
            rows = await tx.execute(schema.SELECT_ALERT_WINDOW, (name, since_bucket))
            state = await tx.execute(schema.SELECT_ALERT_STATE, (name,))
        total, failures = rows[0] if rows else (0, 0)
        return AlertWindow(int(total), int(failures), bool(state) and state[0][0] == FIRING)

    async def claim_alert_firing(self, name: str, now: float, value: float, cooldown_s: float,
                                 only_on_transition: bool) -> bool:
        async with self._transaction() as tx:
            state, since, notified = await _locked_row(tx, name)
            was_firing = state == FIRING
            firing_since = since if was_firing else now
            await tx.execute(schema.MARK_ALERT_FIRING, (FIRING, firing_since, now, value, name))
            if only_on_transition and was_firing:
                return False
            if notified is not None and now - notified < cooldown_s:
                return False
            await tx.execute(schema.MARK_ALERT_NOTIFIED, (now, name))
        return True

    async def claim_alert_resolved(self, name: str, value: float) -> bool:
        async with self._transaction() as tx:
            state, since, notified = await _locked_row(tx, name)
            if state != FIRING:
                return False
            await tx.execute(schema.MARK_ALERT_RESOLVED, (OK, value, name))
        # Only a firing someone announced gets a "resolved" (not one that flapped inside its cooldown).
        return notified is not None and since is not None and notified >= since

    async def record_alert_value(self, name: str, value: float) -> None:
        async with self._transaction() as tx:
            await tx.execute(schema.ENSURE_ALERT, (name, OK))
            await tx.execute(schema.RECORD_ALERT_VALUE, (value, name))

    async def alert_statuses(self) -> list[AlertStatus]:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_ALERTS)
        return [_status(row) for row in rows]


async def _locked_row(tx: Transaction, name: str) -> tuple[str, float | None, float | None]:
    """The alert's row under the per-alert lock, so concurrent replicas decide one after the other."""
    await tx.execute(schema.ENSURE_ALERT, (name, OK))
    await tx.lock(f"judgeval-alert:{name}")
    state, since, notified = (await tx.execute(schema.SELECT_ALERT_CLAIM, (name,)))[0]
    return str(state), _opt(since), _opt(notified)


def _status(row: tuple[Any, ...]) -> AlertStatus:
    name, state, since, fired, notified, value, count = row
    return AlertStatus(str(name), str(state), _opt(since), _opt(fired), _opt(notified), _opt(value),
                       int(count))


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
