"""The shadow scoring's metric (:data:`~judgeval.semconv.METRIC_SHADOW_OUTCOMES`), on the evaluator's
provider, plus the same counts in memory (what tests and logs read)."""

from __future__ import annotations

from collections import Counter

from judgeval import semconv
from judgeval.semconv import ShadowOutcome
from opentelemetry.metrics import NoOpMeterProvider

from evaluator_service.metrics import EvaluatorMetrics

METER_NAME = "evaluator_service.shadow"


class ShadowCounters:
    """Counts shadow outcomes by scorer; a no-op meter when ``metrics`` records nothing."""

    def __init__(self, metrics: EvaluatorMetrics | None) -> None:
        recording = metrics is not None and metrics.recording
        meter = (metrics.provider.get_meter(METER_NAME) if metrics is not None and recording
                 else NoOpMeterProvider().get_meter(METER_NAME))
        self._counter = meter.create_counter(
            semconv.METRIC_SHADOW_OUTCOMES, "{result}",
            "Production results of scorers with a shadow version: scored again in shadow, or why not")
        self.counts: Counter[tuple[str, ShadowOutcome]] = Counter()
        """(scorer, outcome) → count since start."""

    def count(self, scorer: str, outcome: ShadowOutcome, n: int = 1) -> None:
        self.counts[(scorer, outcome)] += n
        self._counter.add(n, {semconv.SCORE_METRIC_LABEL_SCORER: scorer,
                              semconv.SCORE_METRIC_LABEL_OUTCOME: outcome.value})
