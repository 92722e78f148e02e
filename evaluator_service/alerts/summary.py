"""The one line an on-call engineer reads first: a notification's ``summary`` (the webhook's ``summary``,
Slack's text, PagerDuty's summary, Opsgenie's message and close note, the e-mail subject, the log line).

It says what happened, how bad, to what, and by how much, the way an engineer would write it::

    [FIRING critical] politeness-drop on support-bot: failure rate 20% > 10% over 5m (scorer Politeness)
    [RESOLVED] politeness-drop on support-bot: failure rate back to 4% over 5m (was critical for 12m;
        scorer Politeness)
    [NO DATA critical] politeness-gone: no results for 10m, the scorer stopped (scorer Politeness)
    [BEHAVIOR critical] new-issues: new behavior "Curt replies" (12 failures, scorer Politeness)

The words of each condition come from the condition object (``breach_text`` / ``recovery_text``); this
module adds the head (kind and severity), the subject (alert, and the service it watches) and the tail.
"""

from __future__ import annotations

from judgeval import semconv

from evaluator_service.alerts.conditions import AlertCondition
from evaluator_service.alerts.conditions.base import format_elapsed
from evaluator_service.alerts.filters import ANY_SCORER
from evaluator_service.alerts.notification import NotificationKind, Severity
from evaluator_service.behaviors.events import BehaviorEventKind

HEADS = {NotificationKind.FIRING: "FIRING", NotificationKind.RENOTIFY: "STILL FIRING",
         NotificationKind.RESOLVED: "RESOLVED", NotificationKind.NO_DATA: "NO DATA",
         NotificationKind.BEHAVIOR: "BEHAVIOR", NotificationKind.TEST: "TEST"}
"""The head of a summary by notification kind (the severity follows, except on recovery and tests)."""

_BEHAVIOR_WORDS = {BehaviorEventKind.CREATED: "new behavior {name}",
                   BehaviorEventKind.REGRESSED: "behavior {name} is back (regressed)",
                   BehaviorEventKind.INCREASING: "behavior {name} is increasing",
                   BehaviorEventKind.RESOLVED: "behavior {name} resolved"}


def score_alert_summary(*, alert: str, condition: AlertCondition | None, labels: dict[str, str],
                        kind: NotificationKind, severity: Severity, previous_state: str,
                        previous_since: float | None, at: float, observed: float | None,
                        threshold: float | None) -> str:
    """The summary of a windowed (score) alert's notification; see the module docs."""
    head = _head(kind, severity)
    subject = _subject(alert, labels.get(semconv.SERVICE_NAME))
    if condition is None:  # a behavior alert tested with ``judgeval alerts test``
        return f"{head} {subject}: test notification"
    tail: list[str] = []
    if kind is NotificationKind.TEST:
        what = f"test notification; it fires on {condition.describe()}"
    elif kind is NotificationKind.RESOLVED:
        what = condition.recovery_text(observed)
        if previous_state == "firing" and previous_since is not None:
            tail.append(f"was {severity.value} for {format_elapsed(at - previous_since)}")
    elif observed is None or threshold is None or _lost_sight(kind, condition):
        what = condition.no_data_text()
    else:
        what = condition.breach_text(observed, threshold)
        if kind is NotificationKind.FIRING and previous_state == "firing":
            tail.append("escalated from warning")
    scorer = labels.get("scorer")
    tail.append("any scorer" if scorer in (None, ANY_SCORER) else f"scorer {scorer}")
    return f"{head} {subject}: {what} ({'; '.join(tail)})"


def behavior_alert_summary(*, alert: str, event: BehaviorEventKind, behavior: str, severity: Severity,
                           member_count: int, scorer: str, service: str | None) -> str:
    """The summary of a behavior alert's notification, e.g. ``[BEHAVIOR critical] new-issues on
    support-bot: new behavior "Curt replies" (12 failures, scorer Politeness)``."""
    words = _BEHAVIOR_WORDS[event].format(name=_quoted(behavior))
    failures = "1 failure" if member_count == 1 else f"{member_count} failures"
    return (f"{_head(NotificationKind.BEHAVIOR, severity)} {_subject(alert, service)}: {words} "
            f"({failures}, scorer {scorer})")


def _lost_sight(kind: NotificationKind, condition: AlertCondition) -> bool:
    """A firing alert whose window emptied (``no_data: no_data``), not an ``absent_for`` breach."""
    return kind is NotificationKind.NO_DATA and condition.notification_kind is not NotificationKind.NO_DATA


def _head(kind: NotificationKind, severity: Severity) -> str:
    if kind in (NotificationKind.RESOLVED, NotificationKind.TEST):
        return f"[{HEADS[kind]}]"
    return f"[{HEADS[kind]} {severity.value}]"


def _subject(alert: str, service: str | None) -> str:
    return f"{alert} on {service}" if service else alert


def _quoted(text: str) -> str:
    return '"' + " ".join(text.split()) + '"'
