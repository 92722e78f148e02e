"""Building an :class:`~evaluator_service.alerts.notification.AlertNotification` for a transition, and its
JSON form in the durable outbox (so a notification survives a restart byte for byte, event id included)."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from evaluator_service.alerts.config import AlertConfig
from evaluator_service.alerts.notification import AlertExample, AlertNotification, NotificationKind, Severity
from evaluator_service.alerts.summary import score_alert_summary

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    """What the state machine decided for one alert at one moment."""

    kind: NotificationKind
    severity: Severity
    state: str
    previous_state: str
    at: float
    observed: float | None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    previous_since: float | None = None
    """Since when the alert was in ``previous_state`` (a recovery says how long it fired)."""


def build_notification(alert: AlertConfig, transition: Transition, *, event_id: str, dedup_key: str,
                       examples: tuple[AlertExample, ...] = (), labels: dict[str, str] | None = None,
                       summary: str | None = None, links: dict[str, str] | None = None,
                       reason: str | None = None, issue_link: str | None = None) -> AlertNotification:
    """The notification ``transition`` of ``alert`` causes; its ``reason`` is ``reason`` or else the first
    example's (the one that breached). ``links.issue`` is ``issue_link`` (the issue the breaching span was
    placed in) when given, else the scorer's issues."""
    threshold = None
    if alert.condition is not None:
        levels = alert.condition.levels
        threshold = levels.critical if transition.severity == Severity.CRITICAL else levels.warning
        threshold = threshold if threshold is not None else levels.worst()
    labels = labels if labels is not None else notification_labels(alert)
    line = summary or score_alert_summary(
        alert=alert.name, condition=alert.condition, labels=labels, kind=transition.kind,
        severity=transition.severity, previous_state=transition.previous_state,
        previous_since=transition.previous_since, at=transition.at, observed=transition.observed,
        threshold=threshold)
    if not links:
        links = {"trace": examples[0].link} if examples and examples[0].link else {}
        issues = issue_link or alert.scorer_issues_link()
        if issues is not None:
            links["issue"] = issues
    return AlertNotification(
        event_id=event_id, dedup_key=dedup_key, kind=transition.kind, alert=alert.name,
        severity=transition.severity, state=transition.state, previous_state=transition.previous_state,
        summary=line, condition=alert.describe(), at=transition.at, observed=transition.observed,
        threshold=threshold, unit=alert.condition.unit if alert.condition is not None else "", labels=labels,
        examples=examples,
        links=links,
        details=dict(transition.details),
        reason=reason if reason is not None else (examples[0].reason if examples else None),
    )


def notification_labels(alert: AlertConfig, severity: Severity | None = None) -> dict[str, str]:
    """What a notification of ``alert`` is labelled with (and what silences match on)."""
    labels = {"alert": alert.name, **alert.filter.labels()}
    if severity is not None:
        labels["severity"] = severity.value
    return labels


def notification_to_json(notification: AlertNotification) -> str:
    """The outbox form."""
    return json.dumps(dataclasses.asdict(notification), sort_keys=True, default=str)


def notification_from_json(text: str) -> AlertNotification:
    """Back from :func:`notification_to_json`."""
    data = json.loads(text)
    data["kind"] = NotificationKind(data["kind"])
    data["severity"] = Severity(data["severity"])
    data["examples"] = tuple(AlertExample(**example) for example in data.get("examples", ()))
    return AlertNotification(**data)
