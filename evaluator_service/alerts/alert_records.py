"""What the admin API reads and writes about alerts: each alert with its shared state, its history, the
deliveries of a notification, silences and test notifications. Everything lives in the state database, so
any replica answers the same, except the channels' circuit breakers (:meth:`AlertRecords.circuits`), which
live in each replica's memory; :class:`~evaluator_service.alerts.manager.AlertManager` adds the engine that
counts and judges."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from evaluator_service.alerts.channels.breaker import CircuitSnapshot
from evaluator_service.alerts.channels.delivery import ChannelDelivery
from evaluator_service.alerts.config import AlertConfig
from evaluator_service.alerts.notification import AlertNotification, Channel
from evaluator_service.alerts.outbox_worker import NotificationDelivery
from evaluator_service.alerts.payload import notification_from_json
from evaluator_service.alerts.transitions import OK
from evaluator_service.alerts.trial_notification import TestDelivery, send_test_notification
from evaluator_service.state import SharedState
from evaluator_service.state.alert_outbox import DeliveryRecord
from evaluator_service.state.alert_rows import AlertStatus, HistoryEntry, OutboxEntry
from evaluator_service.state.alert_silences import Silence


@dataclass(frozen=True, slots=True)
class AlertView:
    """A configured alert with its shared state, as the admin API shows it."""

    alert: AlertConfig
    status: AlertStatus | None

    @property
    def state(self) -> str:
        return self.status.state if self.status is not None else OK


@dataclass(frozen=True, slots=True)
class ChannelCircuit:
    """The circuit breaker of one of an alert's channels, in this replica."""

    channel: str
    """The name in ``channels:``."""
    target: str
    """``type:name``, as delivery attempts name it."""
    circuit: CircuitSnapshot


class AlertRecords:
    """The configured ``alerts`` and their records in the shared state (bound by the engine's ``open``)."""

    channels: dict[str, Channel]
    replica: str
    _delivery: NotificationDelivery

    def __init__(self, alerts: Sequence[AlertConfig], clock: Callable[[], float]) -> None:
        self.alerts = {alert.name: alert for alert in alerts}
        self._clock = clock
        self._state: SharedState | None = None

    def _require_state(self) -> SharedState:
        if self._state is None:
            raise RuntimeError("AlertManager.open() or start() was not called")
        return self._state

    async def views(self) -> list[AlertView]:
        """Every configured alert with its shared state (``StateUnavailable`` if the database is down)."""
        stored = {s.name: s for s in await self._require_state().alert_statuses()}
        return [AlertView(alert, stored.get(name)) for name, alert in self.alerts.items()]

    async def history(self, name: str | None, limit: int = 50) -> list[HistoryEntry]:
        """The newest transitions of one alert (or all), newest first."""
        return await self._require_state().alert_history(name, limit)

    async def send_test(self, name: str) -> list[TestDelivery]:
        """Send a ``test`` notification for alert ``name`` to its channels now (KeyError if unknown)."""
        state = self._require_state()
        alert = self.alerts[name]
        return await send_test_notification(alert, self.channels, self._delivery, state, self.replica,
                                            self._clock())

    def circuits(self, name: str) -> list[ChannelCircuit]:
        """This replica's circuit breaker of each channel alert ``name`` notifies (KeyError if unknown); none
        when a custom delivery (not :class:`ChannelDelivery`) sends."""
        if not isinstance(self._delivery, ChannelDelivery):
            return []
        delivery, notify = self._delivery, self.alerts[name].notify
        return [ChannelCircuit(channel_name, channel.name, delivery.circuit(channel))
                for channel_name in notify if (channel := self.channels.get(channel_name)) is not None]

    async def deliveries(self, event_id: str) -> tuple[list[OutboxEntry], list[DeliveryRecord]]:
        """The outbox rows (one per channel) and every delivery attempt of one notification."""
        state = self._require_state()
        return await state.notification_rows(event_id), await state.deliveries_of(event_id)

    async def silences(self) -> list[Silence]:
        """Silences not yet ended."""
        return await self._require_state().silences(self._clock())

    async def create_silence(self, matchers: Mapping[str, str], starts_at: float | None, ends_at: float,
                             comment: str = "", created_by: str = "") -> Silence:
        """Store a silence (``starts_at`` None: now); ``ValueError`` for no matchers or a bad range."""
        now = self._clock()
        start = now if starts_at is None else starts_at
        if not matchers:
            raise ValueError("a silence needs at least one matcher (e.g. alert=NAME)")
        if ends_at <= max(start, now):
            raise ValueError("a silence must end after it starts and in the future")
        silence = Silence(f"sil_{uuid.uuid4().hex[:12]}", dict(matchers), start, ends_at, comment, created_by,
                          now)
        await self._require_state().add_silence(silence)
        return silence

    async def expire_silence(self, silence_id: str) -> bool:
        """End a silence now; ``False`` if there is no such unexpired silence."""
        return await self._require_state().expire_silence(silence_id, self._clock())

    def now(self) -> float:
        """The engine's clock."""
        return self._clock()

    async def notification(self, event_id: str) -> AlertNotification | None:
        """A stored notification by event id (``None`` if unknown)."""
        rows = await self._require_state().notification_rows(event_id)
        return notification_from_json(rows[0].payload) if rows else None
