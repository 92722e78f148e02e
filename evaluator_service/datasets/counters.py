"""The datasets' metrics, on the evaluator's private meter provider (see :mod:`evaluator_service.metrics`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from judgeval import semconv
from opentelemetry.metrics import CallbackOptions, NoOpMeterProvider, Observation

from evaluator_service.metrics import EvaluatorMetrics


class DatasetCounters:
    """Records added, unchanged and dropped per dataset; redactions per pattern; the write queue's depth."""

    def __init__(self, metrics: EvaluatorMetrics, queue_depth: Callable[[], int] = lambda: 0) -> None:
        provider = metrics.provider if metrics.recording else NoOpMeterProvider()
        meter = provider.get_meter("evaluator_service.datasets")
        self._records = meter.create_counter(semconv.METRIC_DATASETS_RECORDS, "{record}",
                                             "Interaction records selected by dataset rules, by outcome")
        self._redactions = meter.create_counter(semconv.METRIC_DATASETS_REDACTIONS, "{replacement}",
                                                "PII replacements before storing, by pattern")
        self.queue_depth = queue_depth
        meter.create_observable_gauge(semconv.METRIC_DATASETS_QUEUE_DEPTH, [self._observe_queue], "{record}",
                                      "Records waiting to be written to datasets")

    def records(self, dataset: str, outcome: str, count: int = 1, reason: str | None = None) -> None:
        labels = {semconv.DATASET_METRIC_LABEL_DATASET: dataset,
                  semconv.DATASET_METRIC_LABEL_OUTCOME: outcome}
        if reason is not None:
            labels[semconv.DATASET_METRIC_LABEL_REASON] = reason
        if count:
            self._records.add(count, labels)

    def redactions(self, pattern: str, count: int) -> None:
        self._redactions.add(count, {semconv.DATASET_METRIC_LABEL_PATTERN: pattern})

    def _observe_queue(self, options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self.queue_depth())
