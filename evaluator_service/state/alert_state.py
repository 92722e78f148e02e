"""Alert state replicas share: one row per alert (firing since, last notified, counts) and per-bucket
score counts, so rate windows are shared and two replicas never both notify within one cooldown.

A notification is claimed inside one transaction holding a per-alert lock (PostgreSQL advisory lock,
SQLite's ``BEGIN IMMEDIATE``): the second replica reads the first one's claim and stays silent.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # sql_state imports this module for its mixin
    from evaluator_service.state.sql_state import Transaction

FIRING = "firing"
OK = "ok"

ALERT_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS judgeval_alert_states (
        name TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        firing_since DOUBLE PRECISION,
        last_fired_at DOUBLE PRECISION,
        last_notified_at DOUBLE PRECISION,
        last_value DOUBLE PRECISION,
        fired_count BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_alert_buckets (
        name TEXT NOT NULL,
        bucket BIGINT NOT NULL,
        total BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        PRIMARY KEY (name, bucket)
    )""",
)

_ENSURE = """INSERT INTO judgeval_alert_states (name, state, fired_count) VALUES (%s, 'ok', 0)
    ON CONFLICT (name) DO NOTHING"""
_ADD_COUNTS = """INSERT INTO judgeval_alert_buckets (name, bucket, total, failures) VALUES (%s, %s, %s, %s)
    ON CONFLICT (name, bucket) DO UPDATE SET total = judgeval_alert_buckets.total + excluded.total,
        failures = judgeval_alert_buckets.failures + excluded.failures"""
_WINDOW = """SELECT COALESCE(SUM(total), 0), COALESCE(SUM(failures), 0) FROM judgeval_alert_buckets
    WHERE name = %s AND bucket >= %s"""
_STATE_OF = "SELECT state FROM judgeval_alert_states WHERE name = %s"
_PRUNE = "DELETE FROM judgeval_alert_buckets WHERE name = %s AND bucket < %s"
_SELECT_ONE = "SELECT state, firing_since, last_notified_at FROM judgeval_alert_states WHERE name = %s"
_MARK_FIRING = """UPDATE judgeval_alert_states SET state = 'firing', firing_since = %s, last_fired_at = %s,
    last_value = %s WHERE name = %s"""
_MARK_NOTIFIED = """UPDATE judgeval_alert_states SET last_notified_at = %s, fired_count = fired_count + 1
    WHERE name = %s"""
_RESOLVE = "UPDATE judgeval_alert_states SET state = 'ok', last_value = %s WHERE name = %s"
_RECORD_VALUE = "UPDATE judgeval_alert_states SET last_value = %s WHERE name = %s"
_SELECT_ALL = """SELECT name, state, firing_since, last_fired_at, last_notified_at, last_value, fired_count
    FROM judgeval_alert_states ORDER BY name"""


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


class SqlAlertState:
    """:class:`AlertState` over any :class:`Transaction` provider (mixed into ``SqlSharedState``)."""

    def _transaction(self) -> AbstractAsyncContextManager[Transaction]:
        raise NotImplementedError

    async def add_alert_counts(self, rows: list[tuple[str, int, int, int]]) -> None:
        if not rows:
            return
        async with self._transaction() as tx:
            for row in rows:
                await tx.execute(_ADD_COUNTS, row)

    async def alert_window(self, name: str, since_bucket: int, prune_before: int) -> AlertWindow:
        async with self._transaction() as tx:
            await tx.execute(_PRUNE, (name, prune_before))
            rows = await tx.execute(_WINDOW, (name, since_bucket))
            state = await tx.execute(_STATE_OF, (name,))
        total, failures = rows[0] if rows else (0, 0)
        return AlertWindow(int(total), int(failures), bool(state) and state[0][0] == FIRING)

    async def claim_alert_firing(self, name: str, now: float, value: float, cooldown_s: float,
                                 only_on_transition: bool) -> bool:
        async with self._transaction() as tx:
            state, since, notified = await _locked_row(tx, name)
            was_firing = state == FIRING
            await tx.execute(_MARK_FIRING, (since if was_firing else now, now, value, name))
            if only_on_transition and was_firing:
                return False
            if notified is not None and now - notified < cooldown_s:
                return False
            await tx.execute(_MARK_NOTIFIED, (now, name))
        return True

    async def claim_alert_resolved(self, name: str, value: float) -> bool:
        async with self._transaction() as tx:
            state, since, notified = await _locked_row(tx, name)
            if state != FIRING:
                return False
            await tx.execute(_RESOLVE, (value, name))
        # Only a firing someone announced gets a "resolved" (not one that flapped inside its cooldown).
        return notified is not None and since is not None and notified >= since

    async def record_alert_value(self, name: str, value: float) -> None:
        async with self._transaction() as tx:
            await tx.execute(_ENSURE, (name,))
            await tx.execute(_RECORD_VALUE, (value, name))

    async def alert_statuses(self) -> list[AlertStatus]:
        async with self._transaction() as tx:
            rows = await tx.execute(_SELECT_ALL)
        return [_status(row) for row in rows]


async def _locked_row(tx: Transaction, name: str) -> tuple[str, float | None, float | None]:
    """The alert's row under the per-alert lock, so concurrent replicas decide one after the other."""
    await tx.execute(_ENSURE, (name,))
    await tx.lock(f"judgeval-alert:{name}")
    state, since, notified = (await tx.execute(_SELECT_ONE, (name,)))[0]
    return str(state), _opt(since), _opt(notified)


def _status(row: tuple[Any, ...]) -> AlertStatus:
    name, state, since, fired, notified, value, count = row
    return AlertStatus(str(name), str(state), _opt(since), _opt(fired), _opt(notified), _opt(value),
                       int(count))


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
