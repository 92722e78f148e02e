"""Shadow scoring: the interaction sink that scores production examples again with a scorer's shadow
version and stores both verdicts side by side.

For each interaction record of an uploaded scorer that has a version in shadow (see
:mod:`~evaluator_service.state.scorer_pointers`), :meth:`ShadowScoring.observe` queues one job and returns
at once: the span it came from is already scored and on its way. Workers (``shadow.concurrency``) run the
shadow version on the record's example, with the request's threshold and options, in the same sandbox pool
as production scorers; a writer stores the pairs in batches (``shadow.flush_interval_s``) and prunes them
by age and count. A full queue, a paused scorer, a pinned request or a trajectory result is counted in
:data:`~judgeval.semconv.METRIC_SHADOW_OUTCOMES` (never silently dropped); a shadow failure is stored as
an error of the shadow version. Nothing here writes to spans, alerts or behaviors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from judgeval import semconv
from judgeval.protocol.interaction_record import InteractionRecord
from judgeval.protocol.sampling import is_sampled
from judgeval.scorers.source_check import EXAMPLE_KIND
from judgeval.semconv import ShadowOutcome

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.registry import StoredScorer
from evaluator_service.sandbox.uploaded_source import UploadedScorer, UploadedScorerSource
from evaluator_service.scoring.contract import ScoreResult, ScoringError, TransientScorerError
from evaluator_service.shadow.counters import ShadowCounters
from evaluator_service.shadow.settings import ShadowConfig
from evaluator_service.state import StateUnavailable
from evaluator_service.state.shadow_rows import ShadowResult, ShadowResultState

logger = logging.getLogger(__name__)

TRANSIENT_TRIES = 3
"""A sandbox worker interrupted by another request's failure is retried, as production requests are."""
_PAUSED = "paused"  # the runner's error kind for a paused scorer


@dataclass(frozen=True, slots=True)
class _Job:
    record: InteractionRecord
    current_version: int
    shadow: StoredScorer


class ShadowScoring:
    """Runs shadow versions over production examples; :meth:`observe` is an interaction sink
    (``app.interactions.sinks.append(shadow.observe)``). :meth:`start` and :meth:`stop` follow the
    evaluator's lifecycle; ``state`` is the shared state the results are written to."""

    def __init__(self, uploads: UploadedScorerSource, state: ShadowResultState, config: ShadowConfig,
                 metrics: EvaluatorMetrics | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self._uploads = uploads
        self._registry = uploads.registry
        self._state = state
        self.config = config
        self._clock = clock
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(config.max_queue)
        self._pending: list[ShadowResult] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._failing = False
        self.counters = ShadowCounters(metrics)
        """Outcomes by scorer (the metric, and ``counters.counts`` in memory)."""

    # --- the sink (called on the event loop for every stored span with results) ----------------

    def observe(self, records: Sequence[InteractionRecord]) -> None:
        """Queue the shadow scoring of each record whose scorer has a version in shadow; never blocks."""
        for record in records:
            shadow = self._registry.shadow(record.scorer)
            if shadow is None:
                continue
            current = self._registry.find(record.scorer)
            skipped = _skip_reason(record, shadow, current) or self._unsampled(record)
            if skipped is not None or current is None:
                self._count(record.scorer, skipped or ShadowOutcome.SKIPPED_PINNED)
                continue
            try:
                self._queue.put_nowait(_Job(record, current.version, shadow))
            except asyncio.QueueFull:
                self._count(record.scorer, ShadowOutcome.SKIPPED_OVERLOAD)

    def _unsampled(self, record: InteractionRecord) -> ShadowOutcome | None:
        rate = self.config.sample_rate
        if rate >= 1.0 or is_sampled(int(record.trace_id, 16), rate):
            return None
        return ShadowOutcome.SKIPPED_SAMPLED

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers and the writer (idempotent)."""
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work()) for _ in range(self.config.concurrency)]
        self._tasks.append(loop.create_task(self._write_loop()))

    async def stop(self) -> None:
        """Stop scoring and write what is scored; jobs still queued or running are given up, counted
        ``skipped_shutdown`` (the spans they came from are long exported)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        while not self._queue.empty():
            self._count(self._queue.get_nowait().record.scorer, ShadowOutcome.SKIPPED_SHUTDOWN)
        await self._flush()

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker."""
        return self._queue.qsize()

    # --- internals ---------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                result = await self._score(job)
            except asyncio.CancelledError:
                self._count(job.record.scorer, ShadowOutcome.SKIPPED_SHUTDOWN)
                raise
            except Exception:  # a bug here must not stop the worker
                logger.exception("shadow scoring of %r failed", job.record.scorer)
                self._count(job.record.scorer, ShadowOutcome.ERROR)
                continue
            finally:
                self._queue.task_done()
            self._pending.append(result)
            outcome = ShadowOutcome.SCORED if result.shadow_passed is not None else ShadowOutcome.ERROR
            self._count(job.record.scorer, outcome)

    async def _score(self, job: _Job) -> ShadowResult:
        record = job.record
        scorer = UploadedScorer(job.shadow, self._registry, self._uploads.pool, self._uploads.programs)
        payload = {"example": record.example, "config": record.scorer_config, "threshold": record.threshold}
        shadow = await self._run(scorer, payload, record)
        reason = (shadow.outcome.reason or "") if shadow.outcome is not None else shadow.error_message
        return ShadowResult(
            record_id=record.id, scorer=record.scorer, trace_id=record.trace_id, span_id=record.span_id,
            current_version=job.current_version, shadow_version=job.shadow.version,
            current_score=record.score, current_passed=record.passed, current_reason=record.reason,
            shadow_score=shadow.outcome.value if shadow.outcome is not None else None,
            shadow_passed=shadow.passed,
            shadow_reason=reason,
            at=self._clock())

    async def _run(self, scorer: UploadedScorer, payload: dict[str, object], record: InteractionRecord
                   ) -> ScoreResult:
        name, threshold = record.scorer, record.threshold
        for attempt in range(1, TRANSIENT_TRIES + 1):
            try:
                async with asyncio.timeout(self.config.timeout_s):
                    outcome = await scorer.run_in_sandbox(payload)
            except TimeoutError:
                return ScoreResult(name, threshold, error_kind="timeout", error_message=(
                    f"shadow version took longer than {self.config.timeout_s:g}s"))
            except TransientScorerError as exc:
                if attempt < TRANSIENT_TRIES:
                    continue
                return ScoreResult(name, threshold, error_kind=exc.kind, error_message=str(exc))
            except ScoringError as exc:
                return ScoreResult(name, threshold, error_kind=exc.kind, error_message=str(exc))
            return ScoreResult(name, threshold, outcome=outcome)
        raise AssertionError("unreachable")

    async def _write_loop(self) -> None:
        next_prune = self._clock()
        while True:
            await asyncio.sleep(self.config.flush_interval_s)
            await self._flush()
            if self._clock() >= next_prune:
                next_prune = self._clock() + self.config.prune_interval_s
                await self._prune()

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self._state.store_shadow_results(batch)
        except StateUnavailable as exc:
            if not self._failing:
                logger.error("shadow results not stored yet: %s", exc)
            self._failing = True
            self._pending = batch + self._pending
            overflow = len(self._pending) - self.config.max_queue
            if overflow > 0:  # bounded like the queue: the oldest unstored results are counted and go
                for lost in self._pending[:overflow]:
                    self._count(lost.scorer, ShadowOutcome.NOT_STORED)
                self._pending = self._pending[overflow:]
            return
        if self._failing:
            logger.warning("shadow results stored again")
        self._failing = False

    async def _prune(self) -> None:
        try:
            await self._state.prune_shadow_results(self._clock() - self.config.retention_s,
                                                   self.config.max_results)
        except StateUnavailable as exc:
            logger.warning("shadow results not pruned: %s", exc)

    def _count(self, scorer: str, outcome: ShadowOutcome) -> None:
        self.counters.count(scorer, outcome)


def _skip_reason(record: InteractionRecord, shadow: StoredScorer, current: StoredScorer | None
                 ) -> ShadowOutcome | None:
    """Why ``record`` is not a production result the shadow version can be compared on, if it is not."""
    if record.scope != semconv.TrajectoryScope.SPAN.value or shadow.kind != EXAMPLE_KIND:
        return ShadowOutcome.SKIPPED_SCOPE
    if record.error_kind == _PAUSED:
        return ShadowOutcome.SKIPPED_PAUSED
    if current is None or record.scorer_version not in (None, current.version):
        return ShadowOutcome.SKIPPED_PINNED
    return None
