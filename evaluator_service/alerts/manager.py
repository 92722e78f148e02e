"""The alert engine: counts score events, judges every alert each tick, and delivers from the outbox.

Nothing runs on the scoring path but :meth:`AlertManager.observe`, which folds each score event into the
per-replica bucket counts of the alerts that look at it (no queue, so nothing is dropped under load and
memory stays bounded by the windows). Each tick (background task, or :meth:`tick` with an injected clock
in tests) writes the counts to the shared buckets and judges every alert inside one state-database
transaction per alert (:mod:`~evaluator_service.alerts.transitions`); notifications land in the durable
outbox in that same transaction and the :class:`~evaluator_service.alerts.outbox_worker.OutboxWorker`
sends them. Behavior alerts read the behavior event log (:mod:`~evaluator_service.alerts.behavior_alerts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

import aiohttp
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.alerts.alert_records import AlertRecords
from evaluator_service.alerts.behavior_alerts import (
    CURSOR,
    BehaviorBatch,
    quiet_resolution,
)
from evaluator_service.alerts.channels import ChannelConfig, ChannelDelivery, build_channels, http_client
from evaluator_service.alerts.channels.delivery import MIN_LEASE_S
from evaluator_service.alerts.conditions import CorrectedFailureRateAbove
from evaluator_service.alerts.config import AlertConfig, AlertingConfig
from evaluator_service.alerts.counting import AlertCounter
from evaluator_service.alerts.events import ScoreEvent, score_events
from evaluator_service.alerts.filters import ANY_SCORER
from evaluator_service.alerts.notification import Channel, NotificationKind
from evaluator_service.alerts.outbox_worker import (
    NotificationDelivery,
    OutboxWorker,
    RetryPolicy,
)
from evaluator_service.alerts.transitions import Decision, DecisionContext, decide
from evaluator_service.behaviors.event_log import StateBehaviorEventLog
from evaluator_service.behaviors.events import BehaviorEventLog
from evaluator_service.calibration.agreement import Agreement, agreement
from evaluator_service.calibration.config import CalibrationConfig
from evaluator_service.metrics import METER_NAME, EvaluatorMetrics
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.state import SharedState, StateUnavailable
from evaluator_service.state.alert_rows import (
    AlertStatus,
    AlertWrites,
    WindowCounts,
)
from evaluator_service.state.alert_silences import CursorRequest, Silence
from evaluator_service.state.behavior_placements import PlacementKey

logger = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
AGREEMENT_REFRESH_S = 60.0
"""How long a scorer's agreement with people's labels is reused by ``corrected_failure_rate_above``."""
BEHAVIOR_BATCH = 100
_FIRINGS = (NotificationKind.FIRING, NotificationKind.BEHAVIOR, NotificationKind.NO_DATA)


def _quiet(alert: AlertConfig, now: float, status: AlertStatus, _counts: Sequence[WindowCounts]
           ) -> AlertWrites:
    return quiet_resolution(alert, status, now, alert.quiet_s)


class AlertManager(AlertRecords):
    """Judges ``alerts``; :meth:`start` with the shared state, :meth:`stop` at exit. The admin API's reads
    and silences are :class:`~evaluator_service.alerts.alert_records.AlertRecords`."""

    def __init__(self, alerts: Sequence[AlertConfig], *, channels: Mapping[str, Channel] | None = None,
                 channel_configs: Mapping[str, ChannelConfig] | None = None,
                 delivery: NotificationDelivery | None = None, behavior_log: BehaviorEventLog | None = None,
                 settings: AlertingConfig | None = None, clock: Callable[[], float] = time.time,
                 tick_s: float | None = None, retry: RetryPolicy | None = None,
                 retention_s: float | None = None, calibration: CalibrationConfig | None = None) -> None:
        """``settings`` (YAML ``alerting:``) gives the engine's timings; ``tick_s``, ``retry`` and
        ``retention_s`` override one of them (tests). ``channel_configs`` (YAML ``channels:``) are built into
        channels in :meth:`open`, in the event loop, unless ``channels`` are given; without ``delivery`` the
        channels' retries and circuit breakers (:class:`ChannelDelivery`) deliver."""
        super().__init__(alerts, clock)
        settings = settings or AlertingConfig()
        self.channels = dict(channels or {})
        self._counters = {a.name: AlertCounter(a) for a in alerts if a.condition is not None}
        self._by_scorer: dict[str, list[AlertCounter]] = {}
        for counter in self._counters.values():
            self._by_scorer.setdefault(counter.alert.scorer, []).append(counter)
        self._any_scorer = self._by_scorer.pop(ANY_SCORER, [])
        self._behavior_alerts = [a for a in alerts if a.condition is None]
        self._channel_configs = dict(channel_configs or {})
        self._http: aiohttp.ClientSession | None = None
        self._delivery: NotificationDelivery = delivery or ChannelDelivery()
        self._own_delivery = delivery is None
        self._behavior_log = behavior_log
        self._behavior_max_age_s = settings.behavior_max_age_s
        self._behavior_position = 0
        self.retention_s = retention_s if retention_s is not None else settings.retention_s
        self._pruned_at: float | None = None
        self.tick_s = tick_s or settings.tick_s
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._retry = retry or RetryPolicy.of(settings)
        self.events_processed = 0
        """Score events folded into alert counts so far (tests wait on it)."""
        self._metrics: EvaluatorMetrics | None = None
        self.worker: OutboxWorker | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._state_failing = False
        self._watching_since = clock()
        """When :meth:`open` bound the engine: before a window's length has passed since, an empty window
        keeps the alert's state (:func:`~evaluator_service.alerts.transitions.watched_whole_window`)."""
        self._agreements: dict[str, tuple[float, Agreement]] = {}
        self._calibration = calibration or CalibrationConfig()

    def observe(self, span: Span, results: Sequence[ScoreResult], resource_envelope: bytes) -> None:
        """Scoring-dispatcher hook: fold the span's results into the counts (no I/O, never blocks)."""
        if not self._counters or not results:
            return
        for event in score_events(span, results, resource_envelope):
            self.record(event)

    def record(self, event: ScoreEvent) -> None:
        """Fold one score event into the counts of every alert whose filter it matches."""
        now = self._clock()
        for counters in (self._by_scorer.get(event.scorer, ()), self._any_scorer):
            for counter in counters:
                if counter.alert.filter.matches_score(event.scorer, event.attributes):
                    counter.fold(event, now)
        self.events_processed += 1

    async def open(self, state: SharedState, metrics: EvaluatorMetrics | None = None) -> None:
        """Bind to the shared state without background tasks (tests drive :meth:`tick` and the worker)."""
        self._state, self._metrics = state, metrics
        self._watching_since = self._clock()
        if self._behavior_log is None:  # behavior alerts read the behaviors engine's durable event log
            self._behavior_log = StateBehaviorEventLog(state)
        if self._channel_configs and not self.channels:
            self._http = http_client()
            self.channels = build_channels(self._channel_configs, self._http)
        if self._own_delivery and metrics is not None and metrics.recording:
            self._delivery = ChannelDelivery(meter=metrics.provider.get_meter(METER_NAME))
        lease_s = (self._delivery.lease_s(self.channels.values())
                   if isinstance(self._delivery, ChannelDelivery) else MIN_LEASE_S)
        self.worker = OutboxWorker(state, self.channels, self._delivery, replica=self.replica,
                                   clock=self._clock, retry=self._retry, lease_s=lease_s)

    async def start(self, state: SharedState, metrics: EvaluatorMetrics) -> None:
        """:meth:`open`, then tick and deliver in the background (nothing runs without alerts)."""
        await self.open(state, metrics)
        if not self.alerts:
            return
        assert self.worker is not None
        self._tasks = [asyncio.create_task(self._tick_forever(), name="judgeval-alerts-tick"),
                       asyncio.create_task(self.worker.run_forever(), name="judgeval-alerts-outbox")]

    async def stop(self, grace: float = 2.0) -> None:
        """Judge once more (so the last counts reach the shared buckets), send what is due within ``grace``
        seconds, then stop. Whatever is not sent stays in the outbox for the next start or replica."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._guarded_tick(), max(0.1, grace / 2))
            with contextlib.suppress(TimeoutError, StateUnavailable):
                await asyncio.wait_for(self._drain_outbox(), max(0.1, grace / 2))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _drain_outbox(self) -> None:
        assert self.worker is not None
        while await self.worker.run_once():
            pass

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            await self._guarded_tick()

    async def _guarded_tick(self) -> None:
        try:
            await self.tick()
        except StateUnavailable as exc:
            if not self._state_failing:
                logger.error("alerts: %s; alert state is not updated until it is back", exc)
            self._state_failing = True
            return
        except Exception:  # a bug in one tick must not stop alerting for good
            logger.exception("judging alerts failed")
            return
        if self._state_failing:
            logger.warning("alerts: state database reachable again")
        self._state_failing = False

    async def tick(self) -> None:
        """Flush counts and judge every alert once; then read new behavior events."""
        state = self._require_state()
        now = self._clock()
        silences = await state.silences(now)
        for counter in self._counters.values():
            rows = counter.take_rows()
            try:
                await state.add_alert_counts(rows)
            except StateUnavailable:
                counter.restore(rows, now)
                raise
            await self._judge(counter, now, silences)
        for alert in self._behavior_alerts:
            await state.judge_alert(alert.name, now, (), 0, functools.partial(_quiet, alert, now))
        if self._behavior_log is not None and self._behavior_alerts:
            await self._read_behavior_events(now, silences)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY_S:
            await state.prune_alert_records(now - self.retention_s)
            self._pruned_at = now

    async def _judge(self, counter: AlertCounter, now: float, silences: Sequence[Silence]) -> None:
        alert, state = counter.alert, self._require_state()
        assert alert.condition is not None
        condition = alert.condition
        outcome: list[Decision] = []
        judged = (await self._judge_agreement(alert.scorer, now)
                  if isinstance(condition, CorrectedFailureRateAbove) else None)

        # The examples and the breaching one's placement are taken together, before the lookup awaits: a
        # score recorded meanwhile must not lead the examples unless the issue link is its own.
        examples, key = counter.recent_examples(now), counter.headline_placement(now)
        issue_link = await self._placed_issue_link(counter.alert, key)

        def judge(status: AlertStatus, counts: Sequence[WindowCounts]) -> AlertWrites:
            ctx = DecisionContext(now, silences, examples, self._watching_since,
                                  window_empty=not any(c.events for c in counts), issue_link=issue_link)
            verdict = (condition.judge_calibrated(counts, judged, self._calibration.min_labels)
                       if isinstance(condition, CorrectedFailureRateAbove) and judged is not None
                       else condition.judge(counts))
            decision = decide(alert, status, verdict, ctx)
            outcome.append(decision)
            return decision.writes

        await state.judge_alert(alert.name, now, counter.window_starts(now), counter.prune_before(now), judge)
        self._announce(outcome[0] if outcome else Decision())
        if outcome and any(n.kind == NotificationKind.RESOLVED for n, _ in outcome[0].notifications):
            counter.examples.clear()  # offenders of this episode must not illustrate the next one

    async def _placed_issue_link(self, alert: AlertConfig, key: PlacementKey | None) -> str | None:
        """The page of the issue (behavior) the breaching example's span (``key``) was placed in, for alerts
        with a ``behavior_link_template``; ``None`` when it was not placed (yet) or is forgotten."""
        if alert.behavior_link_template is None or key is None:
            return None
        placed = await self._require_state().placed_behavior(key)
        return alert.behavior_issue_link(placed.id) if placed is not None else None

    async def _judge_agreement(self, scorer: str, now: float) -> Agreement:
        """The scorer's agreement with people's labels (every dataset's), re-read every
        :data:`AGREEMENT_REFRESH_S` seconds."""
        cached = self._agreements.get(scorer)
        if cached is None or now - cached[0] >= AGREEMENT_REFRESH_S:
            labels = await self._require_state().scorer_labels(scorer)
            cached = (now, agreement(labels, self._calibration.confidence))
            self._agreements[scorer] = cached
        return cached[1]

    async def _read_behavior_events(self, now: float, silences: Sequence[Silence]) -> None:
        assert self._behavior_log is not None
        state = self._require_state()
        while True:
            events = await self._behavior_log.events_after(self._behavior_position, BEHAVIOR_BATCH)
            if not events:
                return
            batch = BehaviorBatch(events, now, silences, self._behavior_max_age_s)
            request = CursorRequest(CURSOR, [a.name for a in self._behavior_alerts], now,
                                    functools.partial(batch.decide, self._behavior_alerts))
            self._behavior_position = max(await state.advance_alert_cursor(request), events[-1].sequence)
            self._announce(Decision(notifications=batch.notifications))
            if len(events) < BEHAVIOR_BATCH:
                return

    def _announce(self, decision: Decision) -> None:
        """Log each notification (the log is always a target), count firings, wake the outbox worker."""
        for notification, silenced_by in decision.notifications:
            held = f" (silenced by {silenced_by})" if silenced_by else ""
            level = logging.INFO if notification.kind == NotificationKind.RESOLVED else logging.WARNING
            logger.log(level, "%s%s", notification.summary, held)
            if notification.kind in _FIRINGS and self._metrics is not None:
                self._metrics.alert_fired(notification.alert)
        if decision.notifications and self.worker is not None:
            self.worker.wake()
