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

from evaluator_service.alerts.conditions.absence import AbsentFor
from evaluator_service.alerts.conditions.base import AlertCondition, Levels, Verdict
from evaluator_service.alerts.conditions.burn_rate import BurnRate
from evaluator_service.alerts.conditions.single_score import ScoreAbove, ScoreBelow, ScoreThreshold
from evaluator_service.alerts.conditions.window_rates import (
    CorrectedFailureRateAbove,
    ErrorRateAbove,
    ErrorsAbove,
    FailureRateAbove,
    RateAbove,
)
from evaluator_service.config_values import ConfigError, Section

__all__ = [
    "BEHAVIOR_KEY", "CONDITION_KEYS", "CONDITION_KINDS", "KIND_SETTINGS", "AbsentFor", "AlertCondition",
    "BurnRate", "CorrectedFailureRateAbove", "ErrorRateAbove", "ErrorsAbove", "FailureRateAbove", "Levels",
    "RateAbove", "ScoreAbove", "ScoreBelow", "ScoreThreshold", "Verdict", "parse_condition",
]

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
