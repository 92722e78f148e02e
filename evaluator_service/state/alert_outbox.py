"""The durable notification outbox: one row per (notification, channel), written in the transaction of the
transition that caused it (:mod:`~evaluator_service.state.alert_rows`), and one row per delivery attempt.

A delivery worker on any replica *leases* due rows (``lease_owner``/``lease_until``, chosen under a lock),
so two replicas never send the same row at once; a worker that dies mid-send leaves a lease that simply
expires and the row is sent again later (receivers de-duplicate on the stable ``event_id``). Only the
oldest pending row of each (alert, channel) is due, so each channel gets an alert's notifications in order.
A failed send moves ``next_attempt_at`` forward; nothing leaves the outbox until it is delivered or given
up (``failed``, kept and shown in the history).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from evaluator_service.state import schema
from evaluator_service.state.alert_rows import OUTBOX_PENDING, OutboxEntry
from evaluator_service.state.transaction import TransactionSource


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One try of sending one notification to one channel, as stored."""

    id: str
    event_id: str
    channel: str
    alert: str
    at: float
    ok: bool
    detail: str
    status_code: int | None
    replica: str


class AlertOutboxState(Protocol):
    """The outbox part of the shared state."""

    async def lease_due_notifications(self, owner: str, now: float, lease_s: float, limit: int
                                      ) -> list[OutboxEntry]:
        """Pending rows due at ``now`` and not leased by anyone, now leased to ``owner`` for ``lease_s``."""
        ...

    async def finish_notification(self, entry: OutboxEntry, owner: str, status: str, tries: int,
                                  next_attempt_at: float, detail: str) -> bool:
        """Release ``owner``'s lease with the outcome; ``False`` if the lease was lost meanwhile."""
        ...

    async def record_delivery(self, record: DeliveryRecord) -> None:
        """Store one delivery attempt."""
        ...

    async def notification_rows(self, event_id: str) -> list[OutboxEntry]:
        """Every channel row of one notification."""
        ...

    async def deliveries_of(self, event_id: str) -> list[DeliveryRecord]:
        """Every attempt at one notification, oldest first."""
        ...

    async def outbox_counts(self) -> dict[str, int]:
        """Rows by status (``pending``, ``delivered``, ``failed``)."""
        ...

    async def prune_alert_records(self, before: float) -> None:
        """Drop history, delivery attempts and finished outbox rows older than ``before`` (pending rows
        stay until delivered or given up)."""
        ...


class SqlAlertOutbox(TransactionSource):
    """:class:`AlertOutboxState` over the backend's transactions."""

    async def lease_due_notifications(self, owner: str, now: float, lease_s: float, limit: int
                                      ) -> list[OutboxEntry]:
        async with self._transaction() as tx:
            await tx.lock("judgeval-alert-outbox")
            due = await tx.execute(schema.SELECT_DUE_OUTBOX,
                                   (OUTBOX_PENDING, now, now, OUTBOX_PENDING, limit))
            rows = [_entry(row) for row in due]
            for entry in rows:
                await tx.execute(schema.LEASE_OUTBOX, (owner, now + lease_s, entry.event_id, entry.channel))
        return rows

    async def finish_notification(self, entry: OutboxEntry, owner: str, status: str, tries: int,
                                  next_attempt_at: float, detail: str) -> bool:
        async with self._transaction() as tx:
            await tx.execute(schema.FINISH_OUTBOX, (status, tries, next_attempt_at, detail[:500],
                                                    entry.event_id, entry.channel, owner))
            rows = await tx.execute(schema.SELECT_OUTBOX_OF_EVENT, (entry.event_id,))
        return any(_entry(r).channel == entry.channel and _entry(r).status == status for r in rows)

    async def record_delivery(self, record: DeliveryRecord) -> None:
        async with self._transaction() as tx:
            await tx.execute(schema.INSERT_ALERT_DELIVERY, (
                record.id, record.event_id, record.channel, record.alert, record.at, int(record.ok),
                record.detail[:500], record.status_code, record.replica))

    async def notification_rows(self, event_id: str) -> list[OutboxEntry]:
        async with self._transaction() as tx:
            return [_entry(row) for row in await tx.execute(schema.SELECT_OUTBOX_OF_EVENT, (event_id,))]

    async def deliveries_of(self, event_id: str) -> list[DeliveryRecord]:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_DELIVERIES_OF_EVENT, (event_id,))
        return [DeliveryRecord(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4]), bool(r[5]), str(r[6]),
                               None if r[7] is None else int(r[7]), str(r[8])) for r in rows]

    async def outbox_counts(self) -> dict[str, int]:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.COUNT_OUTBOX_BY_STATUS)
        return {str(status): int(count) for status, count in rows}


    async def prune_alert_records(self, before: float) -> None:
        async with self._transaction() as tx:
            await tx.execute(schema.PRUNE_ALERT_HISTORY, (before,))
            await tx.execute(schema.PRUNE_ALERT_DELIVERIES, (before,))
            await tx.execute(schema.PRUNE_ALERT_OUTBOX, (OUTBOX_PENDING, before))


def _entry(row: Sequence[Any]) -> OutboxEntry:
    event_id, channel, alert, created, payload, status, attempts, due, _owner, _until, detail = row
    return OutboxEntry(str(event_id), str(channel), str(alert), float(created), str(payload), str(status),
                       int(attempts), float(due), str(detail))
