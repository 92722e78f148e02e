"""``burn_rate``: the SRE multi-window burn rate of the pass-rate objective."""

from __future__ import annotations

from collections.abc import Sequence

from evaluator_service.alerts.conditions.base import (
    AlertCondition,
    Levels,
    Verdict,
    format_seconds,
    format_share,
    format_thresholds,
    format_value,
    parse_optional_duration,
)
from evaluator_service.config_values import ConfigError, Section
from evaluator_service.state.alert_rows import WindowCounts

DEFAULT_LONG_WINDOW_S = 3600.0
DEFAULT_SHORT_WINDOW_S = 300.0
DEFAULT_BURN_FACTOR = 14.4


class BurnRate(AlertCondition):
    """``burn_rate: {objective: 0.99, long_window: 1h, short_window: 5m, critical: 14.4, warning: 6}``:
    the failure rate divided by the error budget (1 - objective) exceeds the factor over *both* windows
    (the long one proves it matters, the short one that it is still happening, so it also resolves fast)."""

    key = "burn_rate"
    unit = "x"

    def __init__(self, s: Section) -> None:
        sub = s.section(self.key)
        sub.reject_unknown(frozenset({"objective", "long_window", "short_window", "critical", "warning",
                                      "min_count"}))
        if not sub.has("objective"):
            raise ConfigError(f"{sub.where('objective')}: required (the pass-rate objective, e.g. 0.99)")
        self.objective = sub.number("objective", 0.0)
        if not 0 < self.objective < 1:
            raise ConfigError(f"{sub.where('objective')}: must be between 0 and 1, got {self.objective!r}")
        long_s = parse_optional_duration(sub, "long_window", DEFAULT_LONG_WINDOW_S)
        short_s = parse_optional_duration(sub, "short_window", DEFAULT_SHORT_WINDOW_S)
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
        thresholds = format_thresholds(self.levels, lambda factor: f"{format_value(factor)}x")
        return (f"error budget of the {format_share(self.objective)} pass-rate objective burning faster than "
                f"{thresholds} over both {self._windows()}")

    def breach_text(self, observed: float, threshold: float) -> str:
        # The objective is in the condition's words; the summary stays short enough for Opsgenie's 130.
        burning = f"{format_value(observed)}x > {format_value(threshold)}x"
        return f"error budget burning {burning} over {self._windows()}"

    def recovery_text(self, observed: float | None) -> str:
        if observed is None:
            return f"nothing scored over {format_seconds(self.windows[0])} to judge the burn rate by"
        return f"error budget burn back to {format_value(observed)}x over {self._windows()}"

    def _windows(self) -> str:
        return f"{format_seconds(self.windows[0])} and {format_seconds(self.windows[1])}"
