"""``absent_for``: no result at all for that long, the scorer stopped (notifies as ``no_data``)."""

from __future__ import annotations

from collections.abc import Sequence

from evaluator_service.alerts.conditions.base import (
    AlertCondition,
    Levels,
    Verdict,
    format_seconds,
    format_value,
    parse_severity,
)
from evaluator_service.alerts.notification import NotificationKind, Severity
from evaluator_service.config_values import Section, parse_duration
from evaluator_service.state.alert_rows import WindowCounts


class AbsentFor(AlertCondition):
    """``absent_for: 10m``: no result at all (no score, no error) for that long; the scorer stopped."""

    key = "absent_for"
    notification_kind = NotificationKind.NO_DATA

    def __init__(self, s: Section) -> None:
        self.windows = (parse_duration(s.data[self.key], s.where(self.key)),)
        self.levels = Levels(None, 0.0) if parse_severity(s) == Severity.WARNING else Levels(0.0)
        self.severity = parse_severity(s)

    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        events = counts[0].events
        return Verdict(self.severity if events == 0 else None, float(events), details={"events": events})

    def describe(self) -> str:
        return f"no results for {format_seconds(self.windows[0])}"

    def breach_text(self, observed: float, threshold: float) -> str:
        return f"no results for {format_seconds(self.windows[0])}, the scorer stopped"

    def recovery_text(self, observed: float | None) -> str:
        count = format_value(observed or 0.0)
        return f"results again ({count} in the last {format_seconds(self.windows[0])})"
