"""``judgeval alerts test NAME``: a notification of kind ``test`` sent to the alert's channels at once,
bypassing state and silences, each attempt stored like any other delivery."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from evaluator_service.alerts.config import AlertConfig
from evaluator_service.alerts.notification import Channel, DeliveryAttempt, NotificationKind, Severity
from evaluator_service.alerts.outbox_worker import NotificationDelivery
from evaluator_service.alerts.payload import Transition, build_notification
from evaluator_service.state.alert_outbox import AlertOutboxState, DeliveryRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TestDelivery:
    """How the test went for one target (``log`` always succeeds)."""

    __test__ = False  # not a pytest class

    target: str
    ok: bool
    detail: str
    attempts: int


async def send_test_notification(alert: AlertConfig, channels: Mapping[str, Channel],
                                 delivery: NotificationDelivery, state: AlertOutboxState, replica: str,
                                 now: float) -> list[TestDelivery]:
    """Send and record; one :class:`TestDelivery` per target, the log first."""
    event_id = uuid.uuid4().hex
    transition = Transition(NotificationKind.TEST, Severity.INFO, "test", "test", now, None)
    notification = build_notification(alert, transition, event_id=event_id, dedup_key=f"{alert.name}:test")
    logger.warning("%s", notification.summary)
    results = [TestDelivery("log", True, "logged", 1)]
    for name in alert.notify:
        channel = channels.get(name)
        if channel is None:
            results.append(TestDelivery(name, False, "channel is not configured", 0))
            continue
        attempts: list[DeliveryAttempt] = []
        base = DeliveryRecord("", event_id, name, alert.name, now, False, "", None, replica)
        record = _recorder(state, attempts, base)
        ok = await delivery.deliver(notification, channel, record)
        detail = attempts[-1].detail if attempts else ""
        target = name if channel.name == name else f"{name} ({channel.name})"
        results.append(TestDelivery(target, ok, detail, len(attempts)))
    return results


def _recorder(state: AlertOutboxState, attempts: list[DeliveryAttempt], base: DeliveryRecord
              ) -> Callable[[DeliveryAttempt], Awaitable[None]]:
    async def record(attempt: DeliveryAttempt) -> None:
        attempts.append(attempt)
        await state.record_delivery(dataclasses.replace(
            base, id=uuid.uuid4().hex, ok=attempt.ok, detail=attempt.detail, status_code=attempt.status_code))
    return record
