"""The alert state machine: ``ok → pending → firing → resolved`` plus ``no_data`` and ``paused``.

:func:`decide` is pure: given an alert, its stored status, a condition's verdict and the time, it returns
what to write (status, history, outbox rows), so it runs inside the state database transaction that holds
the alert's lock and is tested with an injected clock. Rules:

- a breach enters ``pending``; it fires once it has held for ``for:`` (at once when ``for`` is 0); a
  pending breach that clears goes back to ``ok`` without a word (flapping is absorbed);
- firing sends ``firing``; an escalation from warning to critical sends ``firing`` again (same episode);
  ``renotify:`` repeats it while firing; recovery sends ``resolved`` with the episode's dedup key unless
  ``recovery: false``;
- an empty window follows the alert's ``no_data`` policy, but only once the engine has watched the
  condition's longest window whole: since the alert was defined (its stored ``created_at``) *and* since this
  engine started (:attr:`DecisionContext.watching_since`). Before that an empty window says nobody was
  looking yet (a new alert, an evaluator restart, a gap longer than the window), not that data stopped, so
  the stored state is kept as it is: a restored ``firing`` or ``no_data`` stays, an ``ok`` stays ``ok``
  (the Grafana/Langfuse rule); ``absent_for`` likewise never breaches before it watched its whole period;
- ``enabled: false`` is ``paused``;
- a notification matching an active silence is stored in the history with the silence's id, not sent.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from evaluator_service.alerts.conditions import Verdict
from evaluator_service.alerts.config import AlertConfig, NoDataPolicy
from evaluator_service.alerts.notification import AlertExample, AlertNotification, NotificationKind, Severity
from evaluator_service.alerts.payload import (
    Transition,
    build_notification,
    notification_labels,
    notification_to_json,
)
from evaluator_service.state.alert_rows import (
    AlertStatus,
    AlertWrites,
    HistoryEntry,
    OutboxEntry,
    history_id,
    notification_id,
)
from evaluator_service.state.alert_silences import Silence

OK, PENDING, FIRING, RESOLVED, NO_DATA, PAUSED = "ok", "pending", "firing", "resolved", "no_data", "paused"
STATES = (OK, PENDING, FIRING, RESOLVED, NO_DATA, PAUSED)


@dataclass(frozen=True)
class DecisionContext:
    """What a decision needs besides the status: the time, active silences, examples to attach, when this
    engine started watching and whether the condition's windows held no result at all."""

    now: float
    silences: Sequence[Silence] = ()
    examples: tuple[AlertExample, ...] = ()
    watching_since: float = 0.0
    """When this engine (process) started judging: an outage before it saw no scores it could count."""
    window_empty: bool = False
    """No result (score or error) at all in any of the condition's windows."""
    issue_link: str | None = None
    """The page of the issue the first example's span was placed in (``links.issue`` instead of the
    scorer's issues), when it was placed."""


@dataclass
class Decision:
    """The writes, and the notifications (sent or silenced) for logs and metrics."""

    writes: AlertWrites = field(default_factory=AlertWrites)
    notifications: list[tuple[AlertNotification, str | None]] = field(default_factory=list)
    """Each notification with the id of the silence that held it back (``None``: queued)."""


def decide(alert: AlertConfig, status: AlertStatus, verdict: Verdict, ctx: DecisionContext) -> Decision:
    """The next step of ``alert`` (see the module docs)."""
    state = status.state
    if not alert.enabled:
        return _move(alert, status, PAUSED, None, ctx, verdict) if state != PAUSED else Decision()
    if state == PAUSED:
        return _move(alert, status, OK, None, ctx, verdict)
    if ctx.window_empty and not watched_whole_window(alert, status, ctx):
        return Decision()  # nobody was looking yet: an empty window says nothing (see the module docs)
    level = verdict.level
    if verdict.no_data:
        policy = alert.no_data
        if policy == NoDataPolicy.KEEP:
            return Decision()
        if policy == NoDataPolicy.ALERTING:
            level = Severity.CRITICAL
        elif policy == NoDataPolicy.NO_DATA:
            if state == NO_DATA:
                return Decision()
            kind = NotificationKind.NO_DATA if state == FIRING else None
            return _move(alert, status, NO_DATA, kind, ctx, verdict, keep_episode=state == FIRING)
    if level is not None:
        return _breach(alert, status, verdict, level, ctx)
    if state == FIRING or (state == NO_DATA and status.episode):
        kind = NotificationKind.RESOLVED if alert.recovery else None
        return _move(alert, status, RESOLVED, kind, ctx, verdict, end_episode=True)
    if state in (PENDING, NO_DATA):
        return _move(alert, status, OK, None, ctx, verdict)
    return _value_only(status, verdict)


def watched_whole_window(alert: AlertConfig, status: AlertStatus, ctx: DecisionContext) -> bool:
    """Whether the engine has watched the condition's longest window end to end, both since the alert was
    defined and since this engine started."""
    windows = alert.condition.windows if alert.condition is not None else ()
    watching_since = max(status.created_at, ctx.watching_since)
    return ctx.now - watching_since >= max(windows, default=0.0)


def _breach(alert: AlertConfig, status: AlertStatus, verdict: Verdict, level: Severity,
            ctx: DecisionContext) -> Decision:
    now, state = ctx.now, status.state
    firing_kind = alert.condition.notification_kind if alert.condition else NotificationKind.FIRING
    if state == FIRING:
        if level == Severity.CRITICAL and status.severity == Severity.WARNING:
            return _move(alert, status, FIRING, firing_kind, ctx, verdict, level=level, keep_episode=True)
        notified = status.last_notified_at or status.state_since
        if alert.renotify_s and now - notified >= alert.renotify_s:
            return _move(alert, status, FIRING, NotificationKind.RENOTIFY, ctx, verdict, level=level,
                         keep_episode=True)
        return _value_only(status, verdict, level)
    pending_since = status.pending_since if state == PENDING and status.pending_since is not None else now
    if now - pending_since >= alert.for_s:
        return _move(alert, status, FIRING, firing_kind, ctx, verdict, level=level)
    if state == PENDING:
        return _value_only(status, verdict, level)
    return _move(alert, status, PENDING, None, ctx, verdict, level=level)


def _value_only(status: AlertStatus, verdict: Verdict, level: Severity | None = None) -> Decision:
    severity = level.value if level is not None else status.severity
    if verdict.observed == status.last_value and severity == status.severity:
        return Decision()
    return Decision(AlertWrites(dataclasses.replace(status, last_value=verdict.observed, severity=severity)))


def _move(alert: AlertConfig, status: AlertStatus, to: str, kind: NotificationKind | None,
          ctx: DecisionContext, verdict: Verdict, *, level: Severity | None = None,
          keep_episode: bool = False, end_episode: bool = False) -> Decision:
    """Write the transition ``status.state → to`` and, for ``kind``, its notification."""
    now = ctx.now
    severity = level or (Severity(status.severity) if status.severity else Severity.CRITICAL)
    entering_fire = to == FIRING and status.state != FIRING
    # An episode lasts from the first firing to its resolved: a firing alert that went no_data (or paused)
    # and fires again is the same incident, so PagerDuty/Opsgenie keep one.
    episode = status.episode or (f"{alert.name}:{uuid.uuid4().hex[:16]}" if entering_fire else None)
    new = dataclasses.replace(
        status, state=to, state_since=now if to != status.state else status.state_since,
        pending_since=now if to == PENDING else None,
        severity=severity.value if to in (PENDING, FIRING) or keep_episode or end_episode else None,
        last_value=verdict.observed, episode=None if end_episode else episode,
        fired_count=status.fired_count + entering_fire,
    )
    decision = Decision()
    event_id, silenced_by, outbox = None, None, []
    if kind is not None:
        resolving = kind == NotificationKind.RESOLVED  # a recovery shows no breaching example
        event_id = notification_id()
        transition = Transition(kind, severity, to, status.state, now, verdict.observed, verdict.details,
                                previous_since=status.state_since)
        labels = notification_labels(alert, severity)
        notification = build_notification(alert, transition, event_id=event_id,
                                          dedup_key=episode or f"{alert.name}:{event_id}",
                                          examples=() if resolving else ctx.examples, labels=labels,
                                          issue_link=None if resolving else ctx.issue_link)
        silenced_by = next((s.id for s in ctx.silences if s.active(now) and s.matches(labels)), None)
        if silenced_by is None:
            payload = notification_to_json(notification)
            outbox = [OutboxEntry(event_id, channel, alert.name, now, payload) for channel in alert.notify]
        new = dataclasses.replace(new, last_notified_at=now)  # silenced too: renotify counts from here
        decision.notifications.append((notification, silenced_by))
    history = HistoryEntry(history_id(), alert.name, now, status.state, to,
                           new.severity if new.severity else (severity.value if kind else None),
                           verdict.observed, event_id, silenced_by,
                           {"kind": kind.value if kind else "", **verdict.details})
    decision.writes = AlertWrites(new, [history], outbox)
    return decision
