"""The time ranges the console's pages offer, each with the step its charts use (at most ~100 points)."""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.console.queries import ConsoleQueryError


@dataclass(frozen=True)
class TimeRange:
    """``name`` as the URL says it (``?range=24h``), its length and its chart step in seconds."""

    name: str
    label: str
    seconds: int
    step_s: int


RANGES = (
    TimeRange("1h", "last hour", 3600, 60),
    TimeRange("6h", "last 6 hours", 6 * 3600, 300),
    TimeRange("24h", "last 24 hours", 24 * 3600, 3600),  # hour rollups: a fraction of the minute rows
    TimeRange("7d", "last 7 days", 7 * 86400, 3600),
    TimeRange("30d", "last 30 days", 30 * 86400, 6 * 3600),
)
DEFAULT_RANGE = "24h"
_BY_NAME = {r.name: r for r in RANGES}


def time_range(name: str | None) -> TimeRange:
    """The range ``?range=`` names (the default when absent); :class:`ConsoleQueryError` for another."""
    found = _BY_NAME.get(name or DEFAULT_RANGE)
    if found is None:
        raise ConsoleQueryError(f"range must be one of {', '.join(_BY_NAME)}, got {name!r}")
    return found
