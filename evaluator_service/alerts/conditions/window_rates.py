"""Conditions on one trailing window's shares and counts: ``failure_rate_above``, ``error_rate_above``,
``corrected_failure_rate_above`` (with ``min_count``) and ``errors_above``."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from evaluator_service.alerts.conditions.base import (
    AlertCondition,
    Verdict,
    format_seconds,
    format_share,
    format_thresholds,
    format_value,
    parse_levels,
)
from evaluator_service.alerts.filters import ANY_SCORER
from evaluator_service.calibration.agreement import Agreement
from evaluator_service.calibration.corrected_rate import DEFAULT_MIN_LABELS, corrected_failure_rate
from evaluator_service.config_values import ConfigError, Section, parse_duration
from evaluator_service.state.alert_rows import WindowCounts


class RateAbove(AlertCondition):
    """A share of the window's events above the threshold, once the window holds ``min_count`` events."""

    what: ClassVar[str]
    unit = "%"

    def __init__(self, s: Section) -> None:
        self.levels = parse_levels(s, self.key, share=True)
        if not s.has("window"):
            raise ConfigError(f"{s.where('window')}: required for {self.key} (e.g. 5m)")
        self.windows = (parse_duration(s.data["window"], s.where("window")),)
        self.min_count = s.integer("min_count", 1, minimum=1)

    @abstractmethod
    def _share(self, c: WindowCounts) -> tuple[int, int]:
        """(bad, total) of the window."""

    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        bad, total = self._share(counts[0])
        if total == 0:
            return Verdict(None, None, no_data=True)
        rate = bad / total
        level = self.levels.level(rate, above=True) if total >= self.min_count else None
        return Verdict(level, rate, details={"total": total, "bad": bad, "min_count": self.min_count})

    def describe(self) -> str:
        at_least = f" (at least {self.min_count} results)" if self.min_count > 1 else ""
        return (f"{self.what} above {format_thresholds(self.levels, format_share)} over "
                f"{format_seconds(self.windows[0])}{at_least}")

    def breach_text(self, observed: float, threshold: float) -> str:
        window = format_seconds(self.windows[0])
        return f"{self.what} {format_share(observed)} > {format_share(threshold)} over {window}"

    def recovery_text(self, observed: float | None) -> str:
        window = format_seconds(self.windows[0])
        if observed is None:
            return f"nothing scored over {window} to judge the {self.what} by"
        return f"{self.what} back to {format_share(observed)} over {window}"


class FailureRateAbove(RateAbove):
    key = "failure_rate_above"
    what = "failure rate"

    def _share(self, c: WindowCounts) -> tuple[int, int]:
        return c.failures, c.scores


class CorrectedFailureRateAbove(RateAbove):
    """``corrected_failure_rate_above``: like ``failure_rate_above`` (same ``window`` and ``min_count``), but
    the window's failure share is first corrected for the judge's measured sensitivity and specificity
    (Rogan-Gladen, from people's labels on this scorer's dataset records). While no corrected rate can be
    given (fewer than ``min_labels`` labeled failures or passes, or a judge no better than chance) the
    window counts as no data, with the reason in the details. Needs one named scorer."""

    key = "corrected_failure_rate_above"
    what = "corrected failure rate"

    def __init__(self, s: Section) -> None:
        super().__init__(s)
        if s.data.get("scorer", ANY_SCORER) == ANY_SCORER:
            raise ConfigError(f"{s.where('scorer')}: corrected_failure_rate_above needs one scorer's name "
                              "(the judge's error is measured per scorer)")

    def _share(self, c: WindowCounts) -> tuple[int, int]:
        return c.failures, c.scores

    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        """Without the judge's measured agreement there is nothing to correct with: no data."""
        return Verdict(None, None, no_data=True, details={"refused": "no judge calibration available"})

    def judge_calibrated(self, counts: Sequence[WindowCounts], judge: Agreement,
                         min_labels: int = DEFAULT_MIN_LABELS) -> Verdict:
        """The verdict on the corrected failure share of the window, given the judge's agreement (and the
        labels of each kind needed, ``calibration.min_labels``)."""
        c = counts[0]
        if c.scores == 0:
            return Verdict(None, None, no_data=True)
        rate = corrected_failure_rate(c.failures, c.scores, judge, min_labels)
        details: dict[str, Any] = {"total": c.scores, "bad": c.failures, "min_count": self.min_count,
                                   "observed_failure_rate": round(c.failures / c.scores, 4),
                                   "sensitivity": _rounded(judge.sensitivity.estimate),
                                   "specificity": _rounded(judge.specificity.estimate),
                                   "labels": judge.labeled}
        if rate.corrected is None:
            return Verdict(None, None, no_data=True, details={**details, "refused": rate.refused})
        details |= {"corrected_low": _rounded(rate.low), "corrected_high": _rounded(rate.high)}
        level = self.levels.level(rate.corrected, above=True) if c.scores >= self.min_count else None
        return Verdict(level, rate.corrected, details=details)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class ErrorRateAbove(RateAbove):
    key = "error_rate_above"
    what = "scoring error rate"

    def _share(self, c: WindowCounts) -> tuple[int, int]:
        return c.errors, c.events


class ErrorsAbove(AlertCondition):
    """``errors_above: N`` over ``window``: more than N scoring errors (timeouts, crashes, paused scorers)."""

    key = "errors_above"

    def __init__(self, s: Section) -> None:
        self.levels = parse_levels(s, self.key)
        if not s.has("window"):
            raise ConfigError(f"{s.where('window')}: required for errors_above (e.g. 5m)")
        if s.has("min_count"):
            raise ConfigError(f"{s.where('min_count')}: not used with errors_above (the count is the "
                              "threshold)")
        self.windows = (parse_duration(s.data["window"], s.where("window")),)

    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        errors = counts[0].errors
        return Verdict(self.levels.level(errors, above=True), float(errors), details={"errors": errors})

    def describe(self) -> str:
        window = format_seconds(self.windows[0])
        return f"more than {format_thresholds(self.levels)} scoring errors over {window}"

    def breach_text(self, observed: float, threshold: float) -> str:
        window = format_seconds(self.windows[0])
        return f"{format_value(observed)} scoring errors > {format_value(threshold)} over {window}"

    def recovery_text(self, observed: float | None) -> str:
        window = format_seconds(self.windows[0])
        return f"scoring errors back to {format_value(observed or 0.0)} over {window}"
