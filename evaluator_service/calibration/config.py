"""The ``calibration:`` section of the evaluator config: how corrected failure rates are computed.

::

    calibration:
      window: 1h           # observed failure rate over this trailing window (CLI default and metrics)
      min_labels: 10       # people's labels of each kind (fail and pass) needed for a corrected rate
      confidence: 0.95     # of every interval reported
      refresh: 60s         # how often the metrics' numbers are recomputed and counts written
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.calibration.agreement import DEFAULT_CONFIDENCE
from evaluator_service.calibration.corrected_rate import DEFAULT_MIN_LABELS
from evaluator_service.config_values import ConfigError, Section, parse_duration

_KEYS = frozenset({"window", "min_labels", "confidence", "refresh"})


@dataclass(frozen=True)
class CalibrationConfig:
    """Settings of judge calibration (YAML ``calibration:``)."""

    window_s: float = 3600.0
    min_labels: int = DEFAULT_MIN_LABELS
    confidence: float = DEFAULT_CONFIDENCE
    refresh_s: float = 60.0


def parse_calibration(s: Section) -> CalibrationConfig:
    """Validate the ``calibration:`` mapping; every mistake is a :class:`ConfigError` naming the field."""
    s.reject_unknown(_KEYS)
    d = CalibrationConfig()
    window = parse_duration(s.data["window"], s.where("window")) if s.has("window") else d.window_s
    refresh = parse_duration(s.data["refresh"], s.where("refresh")) if s.has("refresh") else d.refresh_s
    confidence = s.number("confidence", d.confidence, strict=True)
    if not 0.5 <= confidence < 1:
        raise ConfigError(f"{s.where('confidence')}: must be at least 0.5 and below 1, got {confidence!r}")
    return CalibrationConfig(window_s=window, min_labels=s.integer("min_labels", d.min_labels, minimum=1),
                             confidence=confidence, refresh_s=refresh)
