"""The trajectory counters (:data:`~judgeval.semconv.METRIC_TRAJECTORY_SPANS` and
:data:`~judgeval.semconv.METRIC_TRAJECTORY_OUTCOMES`), on the evaluator's own meter provider.

Every outcome is also kept in :attr:`TrajectoryCounters.totals`, which tests and the benchmark read; a bound
that was hit is therefore always visible, with or without a metrics endpoint.
"""

from __future__ import annotations

from collections import Counter

from judgeval import semconv
from opentelemetry.metrics import NoOpMeterProvider

from evaluator_service.metrics import METER_NAME, EvaluatorMetrics


class TrajectoryCounters:
    """Counts feed spans and trajectories by outcome."""

    def __init__(self, metrics: EvaluatorMetrics) -> None:
        provider = metrics.provider if metrics.recording else NoOpMeterProvider()
        meter = provider.get_meter(METER_NAME)
        self._spans = meter.create_counter(
            semconv.METRIC_TRAJECTORY_SPANS, "{span}", "Trajectory-feed span copies, by outcome"
        )
        self._trajectories = meter.create_counter(
            semconv.METRIC_TRAJECTORY_OUTCOMES, "{trajectory}", "Trajectories and sessions, by outcome"
        )
        self.totals: Counter[str] = Counter()
        """``spans.<outcome>`` and ``trajectories.<outcome>`` totals since start."""

    def spans(self, outcome: str, count: int) -> None:
        if count:
            self.totals[f"spans.{outcome}"] += count
            self._spans.add(count, {semconv.TRAJECTORY_METRIC_LABEL_OUTCOME: outcome})

    def trajectories(self, outcome: str, count: int = 1) -> None:
        if count:
            self.totals[f"trajectories.{outcome}"] += count
            self._trajectories.add(count, {semconv.TRAJECTORY_METRIC_LABEL_OUTCOME: outcome})
