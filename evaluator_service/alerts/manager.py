"""The alert manager: judges score events against the ``alerts:`` rules and sends notifications.

Three background tasks, none on the scoring path: the *consumer* takes :class:`ScoreEvent` s from a
bounded queue the scoring dispatcher fills without waiting (:meth:`AlertManager.observe`); the *ticker*
writes window counts to the shared state every tick and judges rate-based alerts; the *sender* delivers
notifications (log line, webhook with retries). Which replica notifies is decided in the shared state,
so replicas sharing a database notify once per cooldown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

import httpx
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.alerts.config import ANY_SCORER, AlertConfig
from evaluator_service.alerts.events import ScoreEvent, applies, score_events
from evaluator_service.alerts.notify import DeliveryResult, Notification, NotificationState, deliver_webhook
from evaluator_service.alerts.tracking import AlertTracker
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.state import StateUnavailable
from evaluator_service.state.alert_rows import FIRING, OK, AlertState, AlertStatus

logger = logging.getLogger(__name__)

EVENT_QUEUE_SIZE = 10_000
DEFAULT_TICK_S = 1.0


@dataclass(frozen=True, slots=True)
class AlertView:
    """A configured alert with its shared state, as the admin API shows it."""

    alert: AlertConfig
    state: str
    last_fired_at: float | None
    last_value: float | None
    fired_count: int


class AlertManager:
    """Evaluates ``alerts`` on score events; :meth:`start` with the shared state, :meth:`stop` at exit."""

    def __init__(self, alerts: Sequence[AlertConfig], *, tick_s: float | None = None) -> None:
        self.alerts = {alert.name: alert for alert in alerts}
        self._trackers = {alert.name: AlertTracker(alert) for alert in alerts}
        self._scorers = {alert.scorer for alert in alerts}
        windows = [a.window_s / 4 for a in alerts if a.rate_based]
        self.tick_s = tick_s or min([DEFAULT_TICK_S, *windows])
        self.events_processed = 0
        """Score events judged so far (tests wait on it)."""
        self._events: asyncio.Queue[ScoreEvent] | None = None
        self._outbox: asyncio.Queue[Notification] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._state: AlertState | None = None
        self._metrics: EvaluatorMetrics | None = None
        self._client: httpx.AsyncClient | None = None
        self._dropped = 0
        self._state_failing = False

    def observe(self, span: Span, results: Sequence[ScoreResult], resource_envelope: bytes) -> None:
        """Scoring-dispatcher hook: queue the span's results for judgement. Never blocks; when the queue is
        full the events are dropped and counted (alerting must not slow scoring down)."""
        if self._events is None or not self.alerts:
            return
        if ANY_SCORER not in self._scorers:
            results = [r for r in results if r.scorer_name in self._scorers]
        for event in score_events(span, results, resource_envelope):
            try:
                self._events.put_nowait(event)
            except asyncio.QueueFull:
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 1000 == 0:
                    logger.error("alert event queue full: %d score events not judged", self._dropped)

    async def start(self, state: AlertState, metrics: EvaluatorMetrics) -> None:
        """Start the background tasks (nothing runs when no alert is configured)."""
        self._state, self._metrics = state, metrics
        self._client = httpx.AsyncClient()
        if not self.alerts:
            return
        self._events = asyncio.Queue(EVENT_QUEUE_SIZE)
        for work in (self._consume, self._tick_forever, self._send_forever):
            self._tasks.append(asyncio.create_task(work(), name=f"judgeval-alerts-{work.__name__}"))

    async def stop(self, grace: float = 2.0) -> None:
        """Judge what is queued, send what is ready within ``grace`` seconds, then stop."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain(), grace)
            with contextlib.suppress(TimeoutError):  # the last second's counts belong to the shared window
                await asyncio.wait_for(self._guarded(self._flush_counts()), 1.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _drain(self) -> None:
        assert self._events is not None
        await self._events.join()
        await self._outbox.join()

    async def _flush_counts(self) -> None:
        assert self._state is not None
        rows = [row for tracker in self._trackers.values() for row in tracker.take_counts()]
        await self._state.add_alert_counts(rows)

    async def _consume(self) -> None:
        assert self._events is not None
        while True:
            event = await self._events.get()
            try:
                for tracker in self._trackers.values():
                    await self._judge(tracker, event)
            except Exception:
                logger.exception("judging a score event for alerts failed")
            finally:
                self.events_processed += 1
                self._events.task_done()

    async def _judge(self, tracker: AlertTracker, event: ScoreEvent) -> None:
        alert = tracker.alert
        if not applies(alert, event):
            return
        bad = alert.kind.is_bad(alert.threshold, event)
        if alert.rate_based:
            tracker.count(event, bad)
        elif bad and event.value is not None:
            tracker.remember(event)
            # Under a storm of bad scores, ask the database at most once per tick while cooling down.
            if time.time() >= tracker.claim_after:
                await self._guarded(self._fire(tracker, event.value, only_on_transition=False))

    async def _fire(self, tracker: AlertTracker, value: float, *, only_on_transition: bool) -> None:
        assert self._state is not None
        alert, now = tracker.alert, time.time()
        claimed = await self._state.claim_alert_firing(alert.name, now, value, alert.cooldown_s,
                                                       only_on_transition)
        tracker.claim_after = now + (alert.cooldown_s if claimed else min(alert.cooldown_s, self.tick_s))
        if not claimed:
            return  # still cooling down, already firing, or another replica notified
        notification = Notification(alert, NotificationState.FIRING, value, now, tracker.recent_examples(),
                                    tracker.service_name)
        logger.warning("%s", notification.summary())
        if self._metrics is not None:
            self._metrics.alert_fired(alert.name)
        self._outbox.put_nowait(notification)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                await self._guarded(self.tick())
            except Exception:  # a bug in one tick must not stop alerting for good
                logger.exception("judging alert windows failed")

    async def tick(self) -> None:
        """Write pending counts to the shared buckets, then judge every rate-based alert's window."""
        assert self._state is not None
        now = time.time()
        for tracker in self._trackers.values():
            if tracker.alert.rate_based:
                await self._judge_window(tracker, now)
            elif tracker.alert.kind.quiet_resolution_due(tracker.last_breach, now, tracker.alert.cooldown_s):
                tracker.last_breach = None  # a quiet cooldown ends a score_below firing (no message)
                await self._state.claim_alert_resolved(tracker.alert.name, 0.0)

    async def _judge_window(self, tracker: AlertTracker, now: float) -> None:
        assert self._state is not None
        alert, rows = tracker.alert, tracker.take_counts()
        try:
            await self._state.add_alert_counts(rows)
        except StateUnavailable:
            tracker.restore_counts(rows)
            raise
        start = tracker.window_start(now)
        window = await self._state.alert_window(alert.name, start, int(start - alert.window_s))
        total, bad = window.total, window.failures
        if not bad:
            tracker.examples.clear()  # offenders that left the window must not illustrate the next firing
        verdict = alert.kind.judge_window(alert.threshold, alert.min_count, total, bad)
        observed = verdict.observed
        if verdict.breached:
            await self._fire(tracker, observed, only_on_transition=True)
        elif not window.firing:
            if observed != tracker.recorded_value:  # a write only when the value moved
                await self._state.record_alert_value(alert.name, observed)
                tracker.recorded_value = observed
        elif await self._state.claim_alert_resolved(alert.name, observed):
            notification = Notification(alert, NotificationState.RESOLVED, observed, now,
                                        tracker.recent_examples(), tracker.service_name)
            logger.info("%s", notification.summary())
            self._outbox.put_nowait(notification)

    async def _guarded(self, work: Awaitable[None]) -> None:
        """Await ``work``; a state-database outage is logged once, not once per event or tick."""
        try:
            await work
        except StateUnavailable as exc:
            if not self._state_failing:
                logger.error("alerts: %s; alert state is not updated until it is back", exc)
            self._state_failing = True
        else:
            if self._state_failing:
                logger.warning("alerts: state database reachable again")
            self._state_failing = False

    async def _send_forever(self) -> None:
        while True:
            notification = await self._outbox.get()
            try:
                await self.deliver(notification)
            except Exception:
                logger.exception("sending alert %r failed", notification.alert.name)
            finally:
                self._outbox.task_done()

    async def deliver(self, notification: Notification) -> list[DeliveryResult]:
        """Send ``notification`` to the alert's targets now; the log target always succeeds."""
        results = [DeliveryResult("log", True, "logged")]
        hook = notification.alert.webhook
        if hook is not None and self._client is not None:
            result = await deliver_webhook(self._client, hook, notification.payload())
            if not result.ok:
                logger.error("alert %r: webhook %s failed after %d attempts: %s", notification.alert.name,
                             result.target, result.attempts, result.detail)
            results.append(result)
        return results

    async def send_test(self, name: str) -> list[DeliveryResult]:
        """Send a ``test`` notification for alert ``name`` (KeyError if there is none), bypassing cooldown."""
        tracker = self._trackers[name]
        notification = Notification(tracker.alert, NotificationState.TEST, 0.0, time.time(),
                                    tracker.recent_examples(), tracker.service_name)
        logger.warning("%s", notification.summary())
        return await self.deliver(notification)

    async def views(self) -> list[AlertView]:
        """Every configured alert with its shared state (``StateUnavailable`` if the database is down)."""
        assert self._state is not None
        stored: dict[str, AlertStatus] = {s.name: s for s in await self._state.alert_statuses()}
        views = []
        for alert in self.alerts.values():
            status = stored.get(alert.name)
            if status is None:
                views.append(AlertView(alert, OK, None, None, 0))
                continue
            views.append(AlertView(alert, FIRING if status.state == FIRING else OK, status.last_fired_at,
                                   status.last_value, status.fired_count))
        return views
