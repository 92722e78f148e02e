"""What each alert condition means, in one object per kind: ``score_below``, ``failure_rate_above`` and
``errors_above``.

Each object holds everything its kind decides: how its YAML keys parse and validate (the threshold, and
whether ``window`` / ``min_count`` are required, allowed or refused), which score events it looks at,
when an event or a window breaches, and when a firing alert resolves. The config parser, the alert
manager and the notifications ask these objects instead of testing the kind themselves::

    condition, settings = parse_condition(section)     # ConfigError naming the field
    condition.applies_to(event)                          # scores, or errors only
    condition.is_bad(settings.threshold, event)          # this event breaches
    condition.judge_window(threshold, min_count, total, bad)   # windowed kinds: observed value, breached
    condition.quiet_resolution_due(last_breach, now, cooldown_s)   # per-score kind: resolved by silence
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol

from evaluator_service.config_values import ConfigError, Section, parse_duration


class Condition(StrEnum):
    """The condition kinds, spelled as their YAML keys (and as the admin API and notifications show them)."""

    SCORE_BELOW = "score_below"
    FAILURE_RATE_ABOVE = "failure_rate_above"
    ERRORS_ABOVE = "errors_above"


class JudgedEvent(Protocol):
    """What a condition reads of one score event (:class:`~evaluator_service.alerts.events.ScoreEvent`)."""

    @property
    def value(self) -> float | None: ...

    @property
    def succeeded(self) -> bool | None:
        """``None`` for a scoring error: neither a pass nor a fail."""


@dataclass(frozen=True, slots=True)
class ConditionSettings:
    """The parsed numbers of a condition. ``window_s`` is 0 for a per-score kind."""

    threshold: float
    window_s: float = 0.0
    min_count: int = 1


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    """A windowed kind's judgement of one window: the value it observed and whether that breaches. A firing
    alert whose window no longer breaches is resolved."""

    observed: float
    breached: bool


class AlertCondition(ABC):
    """One condition kind. Instances hold no state; :data:`CONDITIONS` has one per :class:`Condition`."""

    key: ClassVar[Condition]
    windowed: ClassVar[bool]
    """Judged over a window of counts (and resolved when the window recovers), not per score."""

    def parse(self, s: Section) -> ConditionSettings:
        """The threshold under this kind's key, then the window settings it requires or refuses."""
        threshold = self._threshold(s)
        if not self.windowed:
            for key in ("window", "min_count"):
                if s.has(key):
                    raise ConfigError(f"{s.where(key)}: only used with failure_rate_above or errors_above")
            return ConditionSettings(threshold)
        if not s.has("window"):
            raise ConfigError(f"{s.where('window')}: required for {self.key.value} (e.g. 5m)")
        window_s = parse_duration(s.data["window"], s.where("window"))
        return ConditionSettings(threshold, window_s, self._min_count(s))

    def _threshold(self, s: Section) -> float:
        return s.number(self.key.value, 0.0)

    def _min_count(self, s: Section) -> int:
        return s.integer("min_count", 1, minimum=1)

    @abstractmethod
    def applies_to(self, event: JudgedEvent) -> bool:
        """Whether ``event`` counts for this kind at all (a score, or an error)."""

    @abstractmethod
    def is_bad(self, threshold: float, event: JudgedEvent) -> bool:
        """Whether an event this kind applies to breaches ``threshold``."""

    def judge_window(self, threshold: float, min_count: int, total: int, bad: int) -> WindowVerdict:
        """A windowed kind's verdict on ``total`` counted events of which ``bad`` breached."""
        raise NotImplementedError(f"{self.key.value} is judged per score, not over a window")

    def quiet_resolution_due(self, last_breach: float | None, now: float, cooldown_s: float) -> bool:
        """Whether a per-score firing ends because no event breached for a whole cooldown (windowed kinds
        resolve from their window instead: always ``False``)."""
        return False


class ScoreBelow(AlertCondition):
    """``score_below: X``: each score below X fires (cooldown permitting); silence for a cooldown resolves."""

    key = Condition.SCORE_BELOW
    windowed = False

    def applies_to(self, event: JudgedEvent) -> bool:
        return event.value is not None

    def is_bad(self, threshold: float, event: JudgedEvent) -> bool:
        return event.value is not None and event.value < threshold

    def quiet_resolution_due(self, last_breach: float | None, now: float, cooldown_s: float) -> bool:
        return last_breach is not None and now - last_breach >= cooldown_s


class FailureRateAbove(AlertCondition):
    """``failure_rate_above: R`` over ``window`` (``min_count`` scores at least): the share of unsuccessful
    scores in the window exceeds R."""

    key = Condition.FAILURE_RATE_ABOVE
    windowed = True

    def _threshold(self, s: Section) -> float:
        value = s.number(self.key.value, 0.0)
        if value >= 1:
            raise ConfigError(f"{s.where(self.key.value)}: must be a share below 1 (0.2 = 20%), "
                              f"got {value!r}")
        return value

    def applies_to(self, event: JudgedEvent) -> bool:
        return event.value is not None

    def is_bad(self, threshold: float, event: JudgedEvent) -> bool:
        return event.succeeded is False

    def judge_window(self, threshold: float, min_count: int, total: int, bad: int) -> WindowVerdict:
        observed = bad / total if total else 0.0
        return WindowVerdict(observed, total >= min_count and observed > threshold)


class ErrorsAbove(AlertCondition):
    """``errors_above: N`` over ``window``: more than N scoring errors (timeouts, paused or unknown
    scorers, crashes) in the window. Scores are not counted; every error is bad."""

    key = Condition.ERRORS_ABOVE
    windowed = True

    def _threshold(self, s: Section) -> float:
        return float(s.integer(self.key.value, 0))

    def _min_count(self, s: Section) -> int:
        if s.has("min_count"):
            raise ConfigError(f"{s.where('min_count')}: only used with failure_rate_above")
        return 1

    def applies_to(self, event: JudgedEvent) -> bool:
        return event.value is None

    def is_bad(self, threshold: float, event: JudgedEvent) -> bool:
        return True

    def judge_window(self, threshold: float, min_count: int, total: int, bad: int) -> WindowVerdict:
        return WindowVerdict(float(bad), bad > threshold)


CONDITIONS: dict[Condition, AlertCondition] = {
    kind.key: kind for kind in (ScoreBelow(), FailureRateAbove(), ErrorsAbove())
}
"""The one object of each condition kind."""


def parse_condition(s: Section) -> tuple[AlertCondition, ConditionSettings]:
    """The one condition an alert entry names, with its settings; raises :class:`ConfigError` unless
    exactly one condition key is present."""
    present = [c for c in Condition if s.has(c.value)]
    if len(present) != 1:
        options = ", ".join(c.value for c in Condition)
        found = f" (found {', '.join(c.value for c in present)})" if present else ""
        raise ConfigError(f"{s.path}: exactly one condition is required: {options}{found}")
    condition = CONDITIONS[present[0]]
    return condition, condition.parse(s)
