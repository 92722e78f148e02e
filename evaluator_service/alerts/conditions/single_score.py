"""``score_below`` / ``score_above``: one score past the threshold breaches; the alert resolves after
``quiet`` (default 5m) without one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from evaluator_service.alerts.conditions.base import (
    AlertCondition,
    Verdict,
    format_seconds,
    format_thresholds,
    format_value,
    parse_levels,
    parse_optional_duration,
)
from evaluator_service.config_values import Section
from evaluator_service.state.alert_rows import WindowCounts

DEFAULT_QUIET_S = 300.0


class ScoreThreshold(AlertCondition):
    """``score_below`` / ``score_above``: a single score past the threshold breaches; the alert resolves
    after ``quiet`` (default 5m) without one."""

    above: ClassVar[bool]

    def __init__(self, s: Section) -> None:
        self.levels = parse_levels(s, self.key)
        self.windows = (parse_optional_duration(s, "quiet", DEFAULT_QUIET_S),)

    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        c = counts[0]
        value = c.max_value if self.above else c.min_value
        if value is None:
            return Verdict(None, None)  # quiet: nothing breached within the quiet period
        return Verdict(self.levels.level(value, self.above), value, details={"scores": c.scores})

    def describe(self) -> str:
        word = "above" if self.above else "below"
        quiet = format_seconds(self.windows[0])
        return f"a score {word} {format_thresholds(self.levels)} ; resolves after {quiet} without one"

    def breach_text(self, observed: float, threshold: float) -> str:
        return f"score {format_value(observed)} {'>' if self.above else '<'} {format_value(threshold)}"

    def recovery_text(self, observed: float | None) -> str:
        word, back = ("above", "below") if self.above else ("below", "above")
        threshold = format_value(self.levels.worst())
        quiet = format_seconds(self.windows[0])
        if observed is None:
            return f"no score {word} {threshold} for {quiet}"
        extreme = "highest" if self.above else "lowest"
        return f"scores back {back} {threshold} ({extreme} {format_value(observed)} in the last {quiet})"


class ScoreBelow(ScoreThreshold):
    key = "score_below"
    above = False


class ScoreAbove(ScoreThreshold):
    key = "score_above"
    above = True
