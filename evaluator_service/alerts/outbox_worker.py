"""Sending what the durable outbox holds: lease due rows, hand each to its channel through a
:class:`NotificationDelivery`, store every attempt, and either mark the row delivered or schedule it again
with backoff. A receiver outage therefore delays notifications, never loses them; a row is given up
(``failed``, logged, kept in the history) only after ``give_up_after_s``.

The delivery policy (retries within one claim, circuit breaker) belongs to the channels package
(``evaluator_service.alerts.channels.delivery.ChannelDelivery`` has the same ``deliver`` signature);
:class:`SingleTryDelivery` tries once and leaves the spacing to the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from evaluator_service.alerts.config import AlertingConfig
from evaluator_service.alerts.notification import AlertNotification, Channel, DeliveryAttempt
from evaluator_service.alerts.payload import notification_from_json
from evaluator_service.state import StateUnavailable
from evaluator_service.state.alert_outbox import AlertOutboxState, DeliveryRecord
from evaluator_service.state.alert_rows import OUTBOX_DELIVERED, OUTBOX_FAILED, OUTBOX_PENDING, OutboxEntry

logger = logging.getLogger(__name__)
_DEFAULTS = AlertingConfig()

RecordAttempt = Callable[[DeliveryAttempt], Awaitable[None]]


class NotificationDelivery(Protocol):
    """Sends one notification to one channel, reporting each try through ``record``."""

    async def deliver(self, notification: AlertNotification, channel: Channel, record: RecordAttempt) -> bool:
        """Whether it was delivered; never raises for a delivery failure."""
        ...


class SingleTryDelivery:
    """One :meth:`Channel.send` per claim; a channel that raises counts as a failed, retryable attempt."""

    async def deliver(self, notification: AlertNotification, channel: Channel, record: RecordAttempt) -> bool:
        try:
            attempt = await channel.send(notification)
        except Exception as exc:  # a channel bug must fail this row, not the worker
            attempt = DeliveryAttempt(channel.name, False, f"{type(exc).__name__}: {exc}")
        await record(attempt)
        return attempt.ok


@dataclass(frozen=True)
class RetryPolicy:
    """Spacing of outbox retries: ``initial_s`` doubling up to ``max_s``; give up after
    ``give_up_after_s`` (defaults: :class:`~evaluator_service.alerts.config.AlertingConfig`)."""

    initial_s: float = _DEFAULTS.retry_initial_s
    max_s: float = _DEFAULTS.retry_max_s
    give_up_after_s: float = _DEFAULTS.give_up_after_s

    @classmethod
    def of(cls, settings: AlertingConfig) -> RetryPolicy:
        return cls(settings.retry_initial_s, settings.retry_max_s, settings.give_up_after_s)

    def delay(self, tries: int) -> float:
        return min(self.max_s, self.initial_s * 2 ** max(0, tries - 1))


class OutboxWorker:
    """Delivers due outbox rows (:meth:`run_once`; :meth:`run_forever` polls and wakes on :meth:`wake`)."""

    def __init__(self, state: AlertOutboxState, channels: Mapping[str, Channel],
                 delivery: NotificationDelivery,
                 *, replica: str, clock: Callable[[], float] = time.time, retry: RetryPolicy | None = None,
                 lease_s: float = 120.0, poll_s: float = 1.0) -> None:
        self._state, self._channels, self._delivery = state, channels, delivery
        self.replica, self._clock = replica, clock
        self.retry = retry or RetryPolicy()
        self.lease_s, self.poll_s = lease_s, poll_s
        self._wake = asyncio.Event()
        self.delivered = 0
        self.failed_attempts = 0
        self.given_up = 0

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self, limit: int = 50) -> int:
        """Lease and send what is due now; returns how many rows were handled."""
        rows = await self._state.lease_due_notifications(self.replica, self._clock(), self.lease_s, limit)
        await asyncio.gather(*(self._send(row) for row in rows))
        return len(rows)

    async def run_forever(self) -> None:
        failing = False
        while True:
            try:
                handled = await self.run_once()
                if failing:
                    logger.warning("alerts: outbox reachable again")
                failing = False
            except StateUnavailable as exc:
                if not failing:
                    logger.error("alerts: cannot read the notification outbox: %s", exc)
                failing, handled = True, 0
            except Exception:
                logger.exception("alerts: delivering notifications failed")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def _send(self, row: OutboxEntry) -> None:
        notification = notification_from_json(row.payload)
        tries = 0
        wait_s = 0.0

        async def record(attempt: DeliveryAttempt) -> None:
            nonlocal tries, wait_s
            tries += 1
            wait_s = attempt.retry_after_s or 0.0
            await self._state.record_delivery(DeliveryRecord(
                uuid.uuid4().hex, row.event_id, row.channel, row.alert, self._clock(), attempt.ok,
                attempt.detail, attempt.status_code, self.replica))
            if not attempt.ok:
                self.failed_attempts += 1

        channel = self._channels.get(row.channel)
        if channel is None:
            await record(DeliveryAttempt(row.channel, False, f"channel {row.channel!r} is not configured"))
            ok = False
        else:
            ok = await self._delivery.deliver(notification, channel, record)
        await self._finish(row, ok, max(tries, 1), wait_s)

    async def _finish(self, row: OutboxEntry, ok: bool, tries: int, retry_after_s: float = 0.0) -> None:
        now = self._clock()
        if ok:
            self.delivered += 1
            await self._state.finish_notification(row, self.replica, OUTBOX_DELIVERED, tries, now,
                                                  "delivered")
            return
        attempts = row.attempts + tries
        if now - row.created_at >= self.retry.give_up_after_s:
            self.given_up += 1
            logger.error("alerts: gave up delivering %s of alert %r to %s after %d attempts", row.event_id,
                         row.alert, row.channel, attempts)
            await self._state.finish_notification(row, self.replica, OUTBOX_FAILED, tries, now, "gave up")
            return
        delay = max(self.retry.delay(attempts), retry_after_s)  # a receiver's Retry-After wins if longer
        logger.warning("alerts: notification %s of alert %r to %s failed (attempt %d); retrying in %gs",
                       row.event_id, row.alert, row.channel, attempts, delay)
        await self._state.finish_notification(row, self.replica, OUTBOX_PENDING, tries, now + delay,
                                              f"attempt {attempts} failed")
