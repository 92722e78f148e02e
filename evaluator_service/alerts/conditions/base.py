"""What every alert condition shares: the :class:`Verdict` it gives, its warning and critical
:class:`Levels`, the :class:`AlertCondition` interface, and the parsing and wording helpers the kinds use."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evaluator_service.alerts.notification import NotificationKind, Severity
from evaluator_service.config_values import ConfigError, Section, parse_duration
from evaluator_service.state.alert_rows import WindowCounts


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
    unit: ClassVar[str] = ""
    """How its observed value and thresholds read (:attr:`AlertNotification.unit`)."""
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
        """The condition in words, e.g. ``failure rate above 20% over 5m (at least 20 results)``."""

    @abstractmethod
    def breach_text(self, observed: float, threshold: float) -> str:
        """What breached, for a notification's summary, e.g. ``failure rate 23% > 10% over 5m``."""

    @abstractmethod
    def recovery_text(self, observed: float | None) -> str:
        """What it is back to, for a recovery's summary, e.g. ``failure rate back to 4% over 5m``
        (``observed`` is ``None`` when the window held nothing to judge)."""

    def no_data_text(self) -> str:
        """An empty window, for a summary: what there is nothing to judge, and over how long."""
        return f"no results over {format_seconds(max(self.windows, default=0.0))}, nothing to judge"


def parse_levels(s: Section, key: str, *, share: bool = False) -> Levels:
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
        levels = Levels(None, value) if parse_severity(s) == Severity.WARNING else Levels(value)
    if share:
        for which in (levels.critical, levels.warning):
            if which is not None and not 0 <= which < 1:
                raise ConfigError(f"{s.where(key)}: must be a share in [0, 1) (0.2 = 20%), got {which!r}")
    return levels


def parse_severity(s: Section) -> Severity:
    text = s.opt_str("severity") or Severity.CRITICAL.value
    if text not in (Severity.CRITICAL, Severity.WARNING):
        raise ConfigError(f"{s.where('severity')}: critical or warning, got {text!r}")
    return Severity(text)


def parse_optional_duration(s: Section, key: str, default: float) -> float:
    return parse_duration(s.data[key], s.where(key)) if s.has(key) else default


def format_seconds(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def format_value(value: float) -> str:
    """A score or count for a summary: up to 3 significant digits (``0.25``, ``7``, ``16.2``)."""
    return f"{value:.3g}"


def format_share(value: float) -> str:
    """A share as a percentage for a summary: ``0.2`` → ``20%``, ``0.105`` → ``10.5%``."""
    return f"{value * 100:.3g}%"


def format_elapsed(seconds: float) -> str:
    """A duration as an engineer says it: ``45s``, ``12m``, ``2h 5m``, ``3d 4h``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if hours == 0:
        return f"{minutes}m"
    if days == 0:
        rest = minutes % 60
        return f"{hours}h" + (f" {rest}m" if rest else "")
    rest = hours % 24
    return f"{days}d" + (f" {rest}h" if rest else "")


def format_thresholds(levels: Levels, show: Callable[[float], str] = format_value) -> str:
    """The thresholds for a condition's words: ``10%`` (critical only), ``10% (warning)``, or
    ``10% (warning) or 30% (critical)``."""
    if levels.warning is None:
        return show(levels.worst())
    warning = f"{show(levels.warning)} (warning)"
    return warning if levels.critical is None else f"{warning} or {show(levels.critical)} (critical)"
