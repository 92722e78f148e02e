"""Judge calibration in a running evaluator: counts each scorer's passes and failures into the shared
state, answers calibration reports (agreement with people's labels and the corrected failure rate), and
publishes them as gauges.

::

    calibration = CalibrationMonitor(config.calibration, state=state)
    dispatcher.score_observers.append(calibration.counter)
    await calibration.start(state, metrics)   # flushes counts and refreshes gauges every `refresh`
    report = await calibration.report("faithfulness", dataset=None, window_s=3600)
    await calibration.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from judgeval import semconv
from opentelemetry.metrics import CallbackOptions, Observation

from evaluator_service.background_loop import BackgroundLoop
from evaluator_service.calibration.agreement import Agreement, agreement
from evaluator_service.calibration.config import CalibrationConfig
from evaluator_service.calibration.corrected_rate import CorrectedRate, corrected_failure_rate
from evaluator_service.calibration.outcome_counter import BUCKET_S, ScorerOutcomeCounter, bucket_of
from evaluator_service.metrics import METER_NAME, EvaluatorMetrics
from evaluator_service.state import SharedState, StateUnavailable

logger = logging.getLogger(__name__)

KEEP_COUNTS_S = 7 * 86_400.0
"""Outcome-count buckets older than this are pruned (the longest window a report may ask for)."""


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    """One scorer's agreement with people's labels and its corrected failure rate over a window."""

    scorer: str
    dataset: str | None
    """The dataset whose labels were used (``None``: every dataset's)."""
    window_s: float
    agreement: Agreement
    rate: CorrectedRate


class CalibrationMonitor:
    """Counting, reports and gauges of judge calibration over one shared state."""

    def __init__(self, config: CalibrationConfig | None = None, *, state: SharedState | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        """``state`` may be given later, to :meth:`start`."""
        self.config = config or CalibrationConfig()
        self._bound = state
        self._clock = clock
        self.counter = ScorerOutcomeCounter(clock)
        self._latest: dict[str, CalibrationReport] = {}
        self._loop = BackgroundLoop("judgeval-calibration", self._flush_forever)

    @property
    def _state(self) -> SharedState:
        if self._bound is None:
            raise RuntimeError("CalibrationMonitor has no state: pass state= or call start()")
        return self._bound

    def now(self) -> float:
        """The monitor's clock."""
        return self._clock()

    async def agreement(self, scorer: str, dataset: str | None = None) -> Agreement:
        """The judge ``scorer``'s agreement with people's labels (of ``dataset``, or of all datasets)."""
        return agreement(await self._state.scorer_labels(scorer, dataset), self.config.confidence)

    async def report(self, scorer: str, dataset: str | None = None, window_s: float | None = None
                     ) -> CalibrationReport:
        """Agreement and the corrected failure rate over the trailing ``window_s`` (default: configured)."""
        window = window_s or self.config.window_s
        judged = await self.agreement(scorer, dataset)
        since = bucket_of(self._clock() - window + BUCKET_S)
        scores, failures = await self._state.scorer_counts(scorer, since)
        rate = corrected_failure_rate(failures, scores, judged, self.config.min_labels)
        return CalibrationReport(scorer, dataset, window, judged, rate)

    async def flush(self) -> None:
        """Write pending counts (kept for the next flush if the database is down), prune old buckets, and
        recompute the gauges' reports of every labeled scorer."""
        rows = self.counter.take_rows()
        try:
            await self._state.add_scorer_counts(rows)
        except StateUnavailable:
            self.counter.restore(rows)
            raise
        await self._state.prune_scorer_counts(bucket_of(self._clock() - KEEP_COUNTS_S))
        latest = {}
        for scorer in await self._state.labeled_scorers():
            latest[scorer] = await self.report(scorer)
        self._latest = latest

    def latest(self) -> dict[str, CalibrationReport]:
        """The reports of the last :meth:`flush`, by scorer (what the gauges show)."""
        return dict(self._latest)

    async def start(self, state: SharedState, metrics: EvaluatorMetrics | None = None) -> None:
        """Bind to ``state``, register the gauges (when metrics are recorded) and flush every ``refresh`` in
        the background."""
        self._bound = state
        if metrics is not None and metrics.recording:
            self.register_gauges(metrics)
        self._loop.start()

    async def stop(self) -> None:
        """Stop the background task, writing the last counts if the database allows."""
        if not self._loop.running:
            return
        await self._loop.stop()
        with contextlib.suppress(StateUnavailable):
            await self.flush()

    async def _flush_forever(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.config.refresh_s)
            try:
                await self.flush()
            except StateUnavailable as exc:
                if not failing:
                    logger.error("calibration: %s; counts are kept until it is back", exc)
                failing = True
                continue
            except Exception:  # a bug in one refresh must not stop counting for good
                logger.exception("calibration refresh failed")
                continue
            failing = False

    def register_gauges(self, metrics: EvaluatorMetrics) -> None:
        """Gauges per labeled scorer on the evaluator's provider, showing the last :meth:`flush`."""
        meter = metrics.provider.get_meter(METER_NAME)
        gauges: tuple[tuple[str, str, Callable[[CalibrationReport], float | None]], ...] = (
            (semconv.METRIC_CALIBRATION_SENSITIVITY, "Judge true-positive rate against people's labels",
             lambda r: r.agreement.sensitivity.estimate),
            (semconv.METRIC_CALIBRATION_SPECIFICITY, "Judge true-negative rate against people's labels",
             lambda r: r.agreement.specificity.estimate),
            (semconv.METRIC_CALIBRATION_OBSERVED_FAILURE_RATE, "Share of scores failed over the window",
             lambda r: r.rate.observed),
            (semconv.METRIC_CALIBRATION_CORRECTED_FAILURE_RATE,
             "Failure rate corrected for the judge's measured error (Rogan-Gladen)",
             lambda r: r.rate.corrected),
        )
        for name, description, pick in gauges:
            meter.create_observable_gauge(name, [self._observer(pick)], "1", description)

    def _observer(self, pick: Callable[[CalibrationReport], float | None]
                  ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(value, {semconv.SCORE_METRIC_LABEL_SCORER: scorer})
                    for scorer, report in self._latest.items() if (value := pick(report)) is not None]

        return observe
