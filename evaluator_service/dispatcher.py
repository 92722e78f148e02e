"""The scoring dispatcher: tagged spans from the durable queue are scored, then handed to the forwarder.

The dispatcher walks the "to score" side of the queue in id order, a batch of rows at a time (reading the
next batch while one is scored). Each span's requests are decoded and every request whose scorer is
``inline`` (deterministic built-ins: quick and never waiting) is scored on the spot; a span with nothing
left to wait for is enriched right away, and the whole batch of such spans is stored for export in one
transaction. A span that needs waiting (an LLM judge, a sandboxed scorer, a rate budget, a behavior
placement for a failing score) gets its own task, at most ``2 * concurrency`` at a time (the scorer calls
themselves are limited by the runner's semaphore); if it came in a packed row (several spans of one
export), that transaction first puts it back in the queue as a row of its own, which gets the task when
the dispatcher reaches it.

Every span is isolated from its neighbours: whatever goes wrong with one span, in decoding its payload,
scoring, behavior assignment, enrichment or encoding, makes that span a *dead letter*: it is exported (as it
arrived, its own attributes kept) marked ``failed`` with the reason in ``judgeval.eval.error``, counted in
``judgeval.evaluator.spans.dead_lettered`` by stage, and the spans behind it are scored as usual. A span
that cannot even be marked is dropped, logged and counted (outcome ``dropped``); it never goes back to the
queue, so a poison span cannot block scoring, survive a restart or fill the queue.

Each span is written once: its scores, the span-level verdict, the behavior of a failing score (placed
before enrichment, see :mod:`evaluator_service.behaviors.grouper`) and the evaluator's id go onto it in one
:func:`~evaluator_service.enrichment.enrich_span` pass.

On shutdown, the dispatcher stores the batch in hand and tasks get a grace period; unfinished ones are
cancelled and their spans stay in the queue, to be scored again after restart (scoring is at-least-once
too).

Modules, along the dispatcher's seams: this one walks the queue (batches, tasks, shutdown);
:mod:`~evaluator_service.span_scoring` scores, enriches and dead-letters one span and tells the observers;
:mod:`~evaluator_service.packed_row_scoring` takes a packed row apart; :mod:`~evaluator_service.group_commit`
stores scored spans in shared transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.dead_letters import StageFailed, stage
from evaluator_service.group_commit import GroupCommit
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.packed_row_scoring import score_packed_row
from evaluator_service.queue import QueuedSpan, ScoredRow, SpanQueue
from evaluator_service.scoring.runner import ScorerRunner
from evaluator_service.span_scoring import Observation, ScoreObserver, SpanJob, SpanScoring, UnscoredObserver

__all__ = ["SCORING_BATCH", "ScoreObserver", "ScoringDispatcher", "UnscoredObserver"]

logger = logging.getLogger(__name__)

SCORING_BATCH = 256
"""Spans the dispatcher reads at once (whole rows, at least one); the inline-scored ones among them share one
transaction."""


class ScoringDispatcher:
    """Dispatches queued tagged spans to the scorer runner; :meth:`wake` after new spans arrive."""

    def __init__(
        self,
        store: SpanQueue,
        runner: ScorerRunner,
        metrics: EvaluatorMetrics,
        concurrency: int,
        on_scored: Callable[[], None],
    ) -> None:
        self._store = store
        self._commit = GroupCommit(store)
        self._spans = SpanScoring(runner, metrics)
        self._metrics = metrics
        self._on_scored = on_scored
        self._slots = asyncio.Semaphore(2 * concurrency)
        self._batch_slots = asyncio.Semaphore(2)
        self._batch = max(2 * concurrency, SCORING_BATCH)
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._dispatcher: asyncio.Task[None] | None = None

    @property
    def evaluator_id(self) -> str:
        """Written onto every scored span; the app sets it to ``host:port`` once its listener is bound."""
        return self._spans.evaluator_id

    @evaluator_id.setter
    def evaluator_id(self, value: str) -> None:
        self._spans.evaluator_id = value

    @property
    def score_observers(self) -> list[ScoreObserver]:
        """Hooks (e.g. the alert manager's ``observe``) told about every scored span."""
        return self._spans.score_observers

    @property
    def unscored_observers(self) -> list[UnscoredObserver]:
        """Hooks (the console's not-evaluated record) told about every span that gets no score at all."""
        return self._spans.unscored_observers

    @property
    def behaviors(self) -> BehaviorGrouper | None:
        """Writes the behavior of a failing span onto it before it is stored (bounded; never raises)."""
        return self._spans.behaviors

    @behaviors.setter
    def behaviors(self, grouper: BehaviorGrouper | None) -> None:
        self._spans.behaviors = grouper

    def start(self) -> None:
        self._dispatcher = asyncio.create_task(self._dispatch(), name="judgeval-scoring-dispatcher")

    def wake(self) -> None:
        self._wakeup.set()

    async def stop(self, grace: float) -> None:
        """Let in-flight spans finish for ``grace`` seconds, then cancel; their spans stay queued."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self._stopping = True
        self._wakeup.set()
        if self._dispatcher is not None:  # it stores the batch in hand, then returns
            _, running = await asyncio.wait({self._dispatcher}, timeout=grace)
            for task in running:
                task.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - loop.time()))
            for task in pending:
                task.cancel()
            if pending:
                logger.warning("%d spans were still being scored at shutdown; they stay queued", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)

    async def _dispatch(self) -> None:
        cursor = 0
        reading: asyncio.Future[list[QueuedSpan]] | None = None
        try:
            while not self._stopping:
                if reading is None:
                    reading = self._read_after(cursor)
                rows = await reading
                reading = None
                if not rows:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), 1.0)
                    continue
                reading = self._read_after(rows[-1].id)  # read the next batch while this one is scored
                try:
                    cursor = await self._score_rows(rows, cursor)
                except Exception:  # spans are isolated one by one; this is a bug of the dispatcher itself
                    logger.exception("scoring rows %d..%d failed; they stay queued until the next start",
                                     rows[0].id, rows[-1].id)
                    cursor = rows[-1].id
        finally:
            if reading is not None:
                reading.cancel()

    def _read_after(self, cursor: int) -> asyncio.Future[list[QueuedSpan]]:
        """Start reading the next batch; spans enqueued from now on wake the dispatcher if it comes back
        empty."""
        self._wakeup.clear()
        return asyncio.ensure_future(self._store.pending_scoring(cursor, self._batch))

    async def _score_rows(self, rows: Sequence[QueuedSpan], cursor: int) -> int:
        """Score a batch: inline spans are stored together, the others get tasks; returns the new cursor
        (the last row id handed out), short of the batch's end only when stopping."""
        ready: list[ScoredRow] = []
        statuses: Counter[str] = Counter()
        observed: list[Observation] = []
        spans = self._spans
        for row in rows:
            if self._stopping:
                break
            cursor = row.id
            if row.packed:
                ready.append(score_packed_row(spans, row, statuses, observed))
                continue
            try:
                with stage("decode"):
                    span = Span.FromString(row.span)
                job = spans.begin(span, row.resource)
                waiting = spans.needs_waiting(job)
                if not waiting:
                    status = spans.finish(span, job, row.resource, observed)
                    with stage("encode"):
                        data = span.SerializeToString()
            except StageFailed as failed:
                status, data = spans.dead_letter(row.span, failed, row.resource)
            else:
                if waiting:
                    if ready and self._slots.locked():  # don't hold finished spans while waiting for a slot
                        await self._store_later(ready, statuses, observed)
                        ready, statuses, observed = [], Counter(), []
                    await self._slots.acquire()
                    task = asyncio.create_task(self._process(row, span, job), name=f"judgeval-score-{row.id}")
                    self._tasks.add(task)
                    task.add_done_callback(self._finished)
                    continue
            statuses[status] += 1
            ready.append(ScoredRow(row, data, 1 if data else 0))
        if ready:
            await self._store_later(ready, statuses, observed)
        return cursor

    async def _store_later(self, ready: list[ScoredRow], statuses: Counter[str],
                           observed: list[Observation]) -> None:
        """Store finished spans while the next ones are scored; at most two batches wait for the disk."""
        await self._batch_slots.acquire()
        task = asyncio.create_task(self._store_batch(ready, statuses, observed), name="judgeval-score-batch")
        self._tasks.add(task)
        task.add_done_callback(self._batch_stored)

    async def _store_batch(self, ready: list[ScoredRow], statuses: Counter[str],
                           observed: list[Observation]) -> None:
        await self._commit.write(ready)
        for status, count in statuses.items():
            self._metrics.span_scored(status, count)
        self._spans.observe(observed)
        self._on_scored()

    def _batch_stored(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._batch_slots.release()
        if not task.cancelled() and task.exception() is not None:
            logger.error("storing scored spans failed; they stay queued", exc_info=task.exception())

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            logger.error("scoring task failed; the span stays queued", exc_info=task.exception())

    async def _process(self, row: QueuedSpan, span: Span, job: SpanJob) -> None:
        observed: list[Observation] = []
        try:
            status = await self._spans.complete(span, job, row.resource, observed)
            with stage("encode"):
                data = span.SerializeToString()
        except StageFailed as failed:
            status, data = self._spans.dead_letter(row.span, failed, row.resource)
            observed.clear()  # exported as it arrived: no scores to tell about
        await self._commit.write([ScoredRow(row, data, 1 if data else 0)])
        self._metrics.span_scored(status)
        self._spans.observe(observed)
        self._on_scored()
