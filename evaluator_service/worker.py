"""Scoring workers: take tagged spans from the durable queue, score them, and hand them to the forwarder.

The dispatcher walks the "to score" side of the queue in id order and starts one task per span, at most
``2 * concurrency`` at a time (the scorer calls themselves are limited by the runner's semaphore). Each
task decodes the span's requests, runs them concurrently, writes the results onto the span, and stores
the enriched span for export in one transaction. A span whose payload cannot be decoded is not scored
but still exported, marked ``failed`` with the reason.

On shutdown, tasks get a grace period; unfinished ones are cancelled and their spans stay in the queue,
to be scored again after restart (scoring is at-least-once too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from judgeval import semconv
from judgeval.evaluation_request import InvalidEvaluationRequest, decode_requests
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.enrichment import ScoreResult, enrich_span, mark_failed, set_attributes
from evaluator_service.otlp_values import attributes_dict, find_attribute
from evaluator_service.rules import span_fields
from evaluator_service.scoring.runner import ScorerRunner
from evaluator_service.store import QueuedSpan, SpanStore
from evaluator_service.telemetry import EvaluatorMetrics

logger = logging.getLogger(__name__)

ScoreObserver = Callable[[Span, Sequence[ScoreResult], bytes], None]
"""Called with each enriched span, its results and its serialized ``ResourceSpans`` envelope, before the
span is stored for export; must return at once (e.g. queue the work) and should not raise."""


class _GroupCommit:
    """Stores enriched spans in shared transactions: whoever gets the lock writes everything finished so
    far, so a burst of scored spans costs one fsync instead of one each."""

    def __init__(self, store: SpanStore) -> None:
        self._store = store
        self._lock = asyncio.Lock()
        self._pending: list[tuple[int, bytes, asyncio.Future[None]]] = []

    async def write(self, row_id: int, enriched: bytes) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row_id, enriched, done))
        async with self._lock:
            if not done.done():
                batch, self._pending = self._pending, []
                try:
                    await self._store.mark_scored([(i, data) for i, data, _ in batch])
                except BaseException as exc:  # cancellation too: nobody may wait forever on this batch
                    for *_, fut in batch:
                        if fut is not done and not fut.done():
                            _fail(fut, exc)
                    raise
                for *_, fut in batch:
                    if not fut.done():  # a waiter cancelled at shutdown cancels its own future
                        fut.set_result(None)
        await done


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)


class ScoringWorker:
    """Dispatches queued tagged spans to the scorer runner; :meth:`wake` after new spans arrive."""

    def __init__(
        self,
        store: SpanStore,
        runner: ScorerRunner,
        metrics: EvaluatorMetrics,
        concurrency: int,
        on_scored: Callable[[], None],
    ) -> None:
        self._store = store
        self._commit = _GroupCommit(store)
        self._runner = runner
        self._metrics = metrics
        self._on_scored = on_scored
        self._slots = asyncio.Semaphore(2 * concurrency)
        self._batch = 2 * concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self.evaluator_id = ""
        """Written onto every scored span; the app sets it to ``host:port`` once its listener is bound."""
        self._dispatcher: asyncio.Task[None] | None = None
        self.score_observers: list[ScoreObserver] = []
        """Hooks (e.g. the alert manager's ``observe``) told about every scored span."""
        self.behaviors: BehaviorGrouper | None = None
        """Writes the behavior of a failing span onto it before it is stored (bounded; never raises)."""

    def start(self) -> None:
        self._dispatcher = asyncio.create_task(self._dispatch(), name="judgeval-scoring-dispatcher")

    def wake(self) -> None:
        self._wakeup.set()

    async def stop(self, grace: float) -> None:
        """Let in-flight spans finish for ``grace`` seconds, then cancel; their spans stay queued."""
        self._stopping = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                logger.warning("%d spans were still being scored at shutdown; they stay queued", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)

    async def _dispatch(self) -> None:
        cursor = 0
        while not self._stopping:
            self._wakeup.clear()
            rows = await self._store.pending_scoring(cursor, self._batch)
            if not rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), 1.0)
                continue
            for row in rows:
                await self._slots.acquire()
                cursor = row.id
                task = asyncio.create_task(self._process(row), name=f"judgeval-score-{row.id}")
                self._tasks.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            logger.error("scoring task failed; the span stays queued", exc_info=task.exception())

    async def _process(self, row: QueuedSpan) -> None:
        span = Span.FromString(row.span)
        status = await self.score_span(span, row.resource)
        set_attributes(span, {semconv.JUDGEVAL_EVAL_EVALUATOR: self.evaluator_id})
        await self._commit.write(row.id, span.SerializeToString())
        self._metrics.span_scored(status)
        self._on_scored()

    async def score_span(self, span: Span, resource: bytes = b"") -> str:
        """Score every request on ``span`` and enrich it in place; returns the final eval status.

        ``resource`` is the span's serialized ``ResourceSpans`` envelope, passed on to score observers."""
        raw = find_attribute(span.attributes, semconv.JUDGEVAL_EVAL_REQUESTS)
        if raw is None:
            mark_failed(span, f"span is tagged {semconv.EvalStatus.PENDING.value} but has no "
                              f"{semconv.JUDGEVAL_EVAL_REQUESTS} attribute")
            return semconv.EvalStatus.FAILED.value
        try:
            requests = decode_requests(raw)
        except InvalidEvaluationRequest as exc:
            mark_failed(span, f"invalid {semconv.JUDGEVAL_EVAL_REQUESTS}: {exc}")
            return semconv.EvalStatus.FAILED.value
        fields = attributes_dict(span.attributes) | span_fields(span)
        results = await asyncio.gather(*(self._runner.run(r, fields) for r in requests))
        status = enrich_span(span, results)
        if self.behaviors is not None:
            await self.behaviors.assign(span, requests, results)
        for observe in self.score_observers:
            try:
                observe(span, results, resource)
            except Exception:  # an observer's bug must not keep the span from being exported
                logger.exception("score observer failed")
        return status.value
