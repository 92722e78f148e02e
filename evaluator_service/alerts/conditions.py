"""What each alert condition means, in one object per kind.

Every kind except ``behavior`` is judged from the counts of score events in one or two trailing windows
(:class:`WindowCounts`, summed from buckets in the state database, so replicas judge the same numbers).
A condition object parses its YAML keys, names the windows it needs and turns their counts into a
:class:`Verdict`: breached at ``critical`` or ``warning`` level, fine, or no data at all::

    condition = parse_condition(section)            # ConfigError naming the field
    condition.windows                               # (300.0,) or (3600.0, 300.0) for a burn rate
    condition.judge([counts, ...])                   # Verdict(level, observed, no_data, details)

Kinds: ``score_below`` / ``score_above`` (one score breaches; resolves after ``quiet`` without one),
``failure_rate_above`` and ``error_rate_above`` (a share over ``window`` with ``min_count``),
``corrected_failure_rate_above`` (the failure share corrected for the judge's error measured against
people's labels, :mod:`evaluator_service.calibration`; judged by :meth:`judge_calibrated`),
``errors_above`` (a count of scoring errors), ``burn_rate`` (SRE multi-window burn rate of the pass-rate
objective), ``absent_for`` (no results at all: the scorer stopped). ``behavior`` alerts are driven by
behavior lifecycle events instead (:mod:`evaluator_service.alerts.behavior_alerts`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evaluator_service.alerts.filters import ANY_SCORER
from evaluator_service.alerts.notification import NotificationKind, Severity
from evaluator_service.calibration.agreement import Agreement
from evaluator_service.calibration.corrected_rate import DEFAULT_MIN_LABELS, corrected_failure_rate
from evaluator_service.config_values import ConfigError, Section, parse_duration
from evaluator_service.state.alert_rows import WindowCounts

DEFAULT_QUIET_S = 300.0
DEFAULT_LONG_WINDOW_S = 3600.0
DEFAULT_SHORT_WINDOW_S = 300.0
DEFAULT_BURN_FACTOR = 14.4


@dataclass(frozen=True, slots=True)
class Verdict:
    """A condition's judgement: ``level`` is the breached severity (``None``: fine); ``no_data`` when the
    window held nothing to judge."""

    level: Severity | None
    observed: float | None
    no_data: bool = False
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Levels:
    """A critical threshold and an optional warning one (less severe, breached earlier)."""

    critical: float | None
    warning: float | None = None

    def level(self, value: float, above: bool) -> Severity | None:
        """The severity ``value`` breaches (``above``: larger is worse)."""
        for severity, threshold in ((Severity.CRITICAL, self.critical), (Severity.WARNING, self.warning)):
            if threshold is not None and (value > threshold if above else value < threshold):
                return severity
        return None

    def worst(self) -> float:
        return self.critical if self.critical is not None else float(self.warning or 0.0)


class AlertCondition(ABC):
    """One configured condition (immutable). Subclasses set :attr:`key` and parse their own settings."""

    key: ClassVar[str]
    notification_kind: ClassVar[NotificationKind] = NotificationKind.FIRING
    windows: tuple[float, ...] = ()
    levels: Levels = Levels(None)

    @abstractmethod
    def __init__(self, s: Section) -> None:
        """Parse this kind's settings from the alert entry ``s`` (:class:`ConfigError` naming the field)."""

    @abstractmethod
    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        """The verdict on the counts of :attr:`windows` (same order)."""

    @abstractmethod
    def describe(self) -> str:
        """The condition in words, e.g. ``failure rate > 0.2 over 5m (at least 20 scores)``."""


def _levels(s: Section, key: str, *, share: bool = False) -> Levels:
    """``key: X`` (critical X, or the ``severity:`` given) or ``key: {critical: X, warning: Y}``."""
    raw = s.data[key]
    if isinstance(raw, dict):
        sub = s.section(key)
        sub.reject_unknown(frozenset({"critical", "warning"}))
        if not sub.has("critical") and not sub.has("warning"):
            raise ConfigError(f"{s.where(key)}: give critical, warning or both")
        crit = sub.number("critical", 0.0, minimum=-1e300) if sub.has("critical") else None
        warn = sub.number("warning", 0.0, minimum=-1e300) if sub.has("warning") else None
        levels = Levels(crit, warn)
    else:
        value = s.number(key, 0.0, minimum=-1e300)
        levels = Levels(None, value) if _severity(s) == Severity.WARNING else Levels(value)
    if share:
        for which in (levels.critical, levels.warning):
            if which is not None and not 0 <= which < 1:
                raise ConfigError(f"{s.where(key)}: must be a share in [0, 1) (0.2 = 20%), got {which!r}")
    return levels


def _severity(s: Section) -> Severity:
    text = s.opt_str("severity") or Severity.CRITICAL.value
    if text not in (Severity.CRITICAL, Severity.WARNING):
        raise ConfigError(f"{s.where('severity')}: critical or warning, got {text!r}")
    return Severity(text)


def _duration(s: Section, key: str, default: float) -> float:
    return parse_duration(s.data[key], s.where(key)) if s.has(key) else default


def _fmt_s(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _thresholds(levels: Levels, unit: str = "") -> str:
    parts = [f"{levels.critical:g}{unit} critical" if levels.critical is not None else "",
             f"{levels.warning:g}{unit} warning" if levels.warning is not None else ""]
    return " / ".join(p for p in parts if p)


class ScoreThreshold(AlertCondition):
    """``score_below`` / ``score_above``: a single score past the threshold breaches; the alert resolves
    after ``quiet`` (default 5m) without one."""

    above: ClassVar[bool]

    def __init__(self, s: Section) -> None:
        self.levels = _levels(s, self.key)
        self.windows = (_duration(s, "quiet", DEFAULT_QUIET_S),)

    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        c = counts[0]
        value = c.max_value if self.above else c.min_value
        if value is None:
            return Verdict(None, None)  # quiet: nothing breached within the quiet period
        return Verdict(self.levels.level(value, self.above), value, details={"scores": c.scores})

    def describe(self) -> str:
        word = "above" if self.above else "below"
        return f"a score {word} {_thresholds(self.levels)} (resolves after {_fmt_s(self.windows[0])} quiet)"


class ScoreBelow(ScoreThreshold):
    key = "score_below"
    above = False


class ScoreAbove(ScoreThreshold):
    key = "score_above"
    above = True


class RateAbove(AlertCondition):
    """A share of the window's events above the threshold, once the window holds ``min_count`` events."""

    what: ClassVar[str]

    def __init__(self, s: Section) -> None:
        self.levels = _levels(s, self.key, share=True)
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
        return (f"{self.what} > {_thresholds(self.levels)} over {_fmt_s(self.windows[0])} "
                f"(at least {self.min_count} events)")


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
        self.levels = _levels(s, self.key)
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
        return f"more than {_thresholds(self.levels)} scoring errors over {_fmt_s(self.windows[0])}"


class BurnRate(AlertCondition):
    """``burn_rate: {objective: 0.99, long_window: 1h, short_window: 5m, critical: 14.4, warning: 6}``:
    the failure rate divided by the error budget (1 - objective) exceeds the factor over *both* windows
    (the long one proves it matters, the short one that it is still happening, so it also resolves fast)."""

    key = "burn_rate"

    def __init__(self, s: Section) -> None:
        sub = s.section(self.key)
        sub.reject_unknown(frozenset({"objective", "long_window", "short_window", "critical", "warning",
                                      "min_count"}))
        if not sub.has("objective"):
            raise ConfigError(f"{sub.where('objective')}: required (the pass-rate objective, e.g. 0.99)")
        self.objective = sub.number("objective", 0.0)
        if not 0 < self.objective < 1:
            raise ConfigError(f"{sub.where('objective')}: must be between 0 and 1, got {self.objective!r}")
        long_s = _duration(sub, "long_window", DEFAULT_LONG_WINDOW_S)
        short_s = _duration(sub, "short_window", DEFAULT_SHORT_WINDOW_S)
        if short_s >= long_s:
            raise ConfigError(f"{sub.where('short_window')}: must be shorter than long_window")
        self.windows = (long_s, short_s)
        crit = sub.number("critical", DEFAULT_BURN_FACTOR, strict=True) if sub.has("critical") else None
        warn = sub.number("warning", 0.0, strict=True) if sub.has("warning") else None
        self.levels = Levels(crit if crit is not None or warn is not None else DEFAULT_BURN_FACTOR, warn)
        self.min_count = sub.integer("min_count", 1, minimum=1)

    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        long_c, short_c = counts
        if long_c.scores == 0:
            return Verdict(None, None, no_data=True)
        budget = 1 - self.objective
        burns = [c.failures / c.scores / budget if c.scores else 0.0 for c in (long_c, short_c)]
        observed = min(burns)
        enough = long_c.scores >= self.min_count
        level = self.levels.level(observed, above=True) if enough else None
        return Verdict(level, observed, details={"long_burn_rate": round(burns[0], 4),
                                                 "short_burn_rate": round(burns[1], 4),
                                                 "long_scores": long_c.scores,
                                                 "short_scores": short_c.scores})

    def describe(self) -> str:
        return (f"burn rate of the {self.objective:g} pass-rate objective > {_thresholds(self.levels, 'x')} "
                f"over both {_fmt_s(self.windows[0])} and {_fmt_s(self.windows[1])}")


class AbsentFor(AlertCondition):
    """``absent_for: 10m``: no result at all (no score, no error) for that long; the scorer stopped."""

    key = "absent_for"
    notification_kind = NotificationKind.NO_DATA

    def __init__(self, s: Section) -> None:
        self.windows = (parse_duration(s.data[self.key], s.where(self.key)),)
        self.levels = Levels(None, 0.0) if _severity(s) == Severity.WARNING else Levels(0.0)
        self.severity = _severity(s)

    def judge(self, counts: Sequence[WindowCounts]) -> Verdict:
        events = counts[0].events
        return Verdict(self.severity if events == 0 else None, float(events), details={"events": events})

    def describe(self) -> str:
        return f"no results for {_fmt_s(self.windows[0])}"


CONDITION_KINDS: dict[str, type[AlertCondition]] = {
    kind.key: kind for kind in (ScoreBelow, ScoreAbove, FailureRateAbove, ErrorRateAbove, ErrorsAbove,
                                BurnRate, AbsentFor, CorrectedFailureRateAbove)
}
"""Windowed condition kinds by YAML key (``behavior`` is separate: it reads behavior events)."""

BEHAVIOR_KEY = "behavior"
CONDITION_KEYS = (*CONDITION_KINDS, BEHAVIOR_KEY)
KIND_SETTINGS = frozenset({"quiet", "window", "min_count", "severity"})
"""Keys some condition kinds read beside their own key."""


def parse_condition(s: Section) -> AlertCondition | None:
    """The one windowed condition an alert entry names (``None`` for a ``behavior`` alert); raises
    :class:`ConfigError` unless exactly one condition key is present."""
    present = [key for key in CONDITION_KEYS if s.has(key)]
    if len(present) != 1:
        found = f" (found {', '.join(present)})" if present else ""
        raise ConfigError(f"{s.path}: exactly one condition is required: {', '.join(CONDITION_KEYS)}{found}")
    if present[0] == BEHAVIOR_KEY:
        for key in ("window", "min_count"):
            if s.has(key):
                raise ConfigError(f"{s.where(key)}: not used with behavior")
        return None
    kind = CONDITION_KINDS[present[0]]
    if s.has("quiet") and not issubclass(kind, ScoreThreshold):
        raise ConfigError(f"{s.where('quiet')}: only used with score_below, score_above or behavior")
    if s.has("window") and kind in (ScoreBelow, ScoreAbove, BurnRate, AbsentFor):
        raise ConfigError(f"{s.where('window')}: not used with {kind.key}"
                          + (" (use quiet:)" if issubclass(kind, ScoreThreshold) else ""))
    if s.has("min_count") and kind in (ScoreBelow, ScoreAbove, AbsentFor):
        raise ConfigError(f"{s.where('min_count')}: not used with {kind.key}")
    return kind(s)
