"""Alerts on behavior lifecycle events (``behavior: [created, regressed, increasing]``).

The behaviors engine appends events to a durable log (:class:`~evaluator_service.behaviors.events.
BehaviorEventLog`); the alert engine reads it from a cursor stored in the state database. Reading and
advancing happen under the cursor's lock in one transaction with the notifications they cause, so each
event notifies once however many replicas read it, and an evaluator that was down catches up (events
older than ``max_age_s`` when first seen are skipped, so a new deployment does not page for history).
A behavior alert stays ``firing`` until ``quiet`` passes without a matching event, then returns to ``ok``
without a message (the behavior's own ``resolved`` event is the recovery signal).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from evaluator_service.alerts.config import AlertConfig
from evaluator_service.alerts.notification import AlertExample, AlertNotification, NotificationKind, Severity
from evaluator_service.alerts.payload import (
    Transition,
    build_notification,
    notification_labels,
    notification_to_json,
)
from evaluator_service.alerts.summary import behavior_alert_summary
from evaluator_service.alerts.transitions import FIRING, OK, PAUSED
from evaluator_service.behaviors.events import BehaviorEvent
from evaluator_service.state.alert_rows import AlertStatus, AlertWrites, HistoryEntry, OutboxEntry, history_id
from evaluator_service.state.alert_silences import Silence

CURSOR = "behavior-events"
BEHAVIOR_SEVERITIES = {"critical": Severity.CRITICAL, "high": Severity.CRITICAL, "medium": Severity.WARNING,
                       "low": Severity.INFO, "warning": Severity.WARNING, "info": Severity.INFO}
"""A behavior's severity (low, medium, high, critical) as a notification severity; others are warnings."""


@dataclass
class BehaviorBatch:
    """Events read from the log (oldest first) and what deciding them produced."""

    events: Sequence[BehaviorEvent]
    now: float
    silences: Sequence[Silence] = ()
    max_age_s: float = 3600.0
    notifications: list[tuple[AlertNotification, str | None]] = field(default_factory=list)

    def decide(self, alerts: Sequence[AlertConfig], position: int, statuses: dict[str, AlertStatus]
               ) -> tuple[int, list[AlertWrites]]:
        """Notify for every event after ``position`` each matching alert wants; the new position."""
        writes: list[AlertWrites] = []
        current = dict(statuses)
        for event in self.events:
            if event.sequence <= position:
                continue  # another replica already handled it
            position = event.sequence
            if self.now - event.at > self.max_age_s:
                continue
            for alert in alerts:
                wanted = event.kind in alert.behavior_kinds and alert.enabled
                if wanted and alert.filter.matches_behavior(event):
                    step = self._notify(alert, current[alert.name], event)
                    current[alert.name] = step.status or current[alert.name]
                    writes.append(step)
        return position, writes

    def _notify(self, alert: AlertConfig, status: AlertStatus, event: BehaviorEvent) -> AlertWrites:
        severity = BEHAVIOR_SEVERITIES.get(event.severity, Severity.WARNING)
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{event.event_id}/{alert.name}").hex
        details = {"behavior_id": event.behavior_id, "behavior": event.name, "event": event.kind.value,
                   "member_count": event.member_count, "behavior_state": event.state,
                   "behavior_severity": event.severity}
        transition = Transition(NotificationKind.BEHAVIOR, severity, FIRING, status.state, self.now,
                                float(event.member_count), details)
        labels = notification_labels(alert, severity)
        service = (event.services or ("",))[0]
        examples = tuple(AlertExample(trace_id, "", reason=event.name,  # the behavior is why it failed
                                      link=alert.trace_link(trace_id, "", service))
                         for trace_id in event.example_trace_ids[:5])
        summary = behavior_alert_summary(alert=alert.name, event=event.kind, behavior=event.name,
                                         severity=severity, member_count=event.member_count,
                                         scorer=event.scorer, service=service or None)
        links = {"trace": examples[0].link} if examples and examples[0].link else {}
        if alert.issue_link_template:
            links["issue"] = alert.issue_link_template.format(behavior_id=event.behavior_id)
        notification = build_notification(alert, transition, event_id=event_id,
                                          dedup_key=f"{alert.name}:{event.behavior_id}", examples=examples,
                                          labels=labels, summary=summary, links=links,
                                          reason=behavior_reason(event))
        silenced_by = next((s.id for s in self.silences if s.active(self.now) and s.matches(labels)), None)
        self.notifications.append((notification, silenced_by))
        outbox = [] if silenced_by else [OutboxEntry(event_id, channel, alert.name, self.now,
                                                     notification_to_json(notification))
                                         for channel in alert.notify]
        new = dataclasses.replace(status, state=FIRING, severity=severity.value, last_notified_at=self.now,
                                  state_since=self.now if status.state != FIRING else status.state_since,
                                  last_value=float(event.member_count), fired_count=status.fired_count + 1)
        history = HistoryEntry(history_id(), alert.name, self.now, status.state, FIRING, severity.value,
                               float(event.member_count), event_id, silenced_by,
                               {"kind": NotificationKind.BEHAVIOR.value, **details})
        return AlertWrites(new, [history], outbox)


def behavior_reason(event: BehaviorEvent) -> str:
    """A behavior alert's ``reason``: the behavior's name, and its description (a member's failure reason, as
    the behaviors engine stores it) when it has one that says more."""
    description = str(event.attributes.get("description") or "").strip()
    return f"{event.name}: {description}" if description and description != event.name else event.name


def quiet_resolution(alert: AlertConfig, status: AlertStatus, now: float, quiet_s: float) -> AlertWrites:
    """A behavior alert with no matching event for ``quiet_s`` returns to ``ok`` (history only); one with
    ``enabled: false`` is ``paused`` (and ``ok`` again once enabled)."""
    if not alert.enabled:
        paused = status.state == PAUSED
        return AlertWrites() if paused else _silent_move(alert, status, PAUSED, now, "disabled")
    if status.state == PAUSED:
        return _silent_move(alert, status, OK, now, "enabled")
    if status.state != FIRING or now - (status.last_notified_at or status.state_since) < quiet_s:
        return AlertWrites()
    return _silent_move(alert, status, OK, now, "quiet")


def _silent_move(alert: AlertConfig, status: AlertStatus, to: str, now: float, reason: str) -> AlertWrites:
    new = dataclasses.replace(status, state=to, severity=None, state_since=now, episode=None)
    history = HistoryEntry(history_id(), alert.name, now, status.state, to, None, None, None, None,
                           {"kind": "", "reason": reason})
    return AlertWrites(new, [history])
