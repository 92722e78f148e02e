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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, InvalidEvaluationRequest, decode_requests
from judgeval.protocol.otlp_values import attributes_dict, find_attribute
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span

from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.dead_letters import (
    STAGE_VERBS,
    PackedOriginals,
    StageFailed,
    dead_letter_reason,
    stage,
)
from evaluator_service.enrichment import enrich_span, mark_failed
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.packed_spans import pack_spans
from evaluator_service.queue import QueuedSpan, ScoredRow, SpanQueue
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.scoring.runner import InlineMeasurement, ScorerRunner
from evaluator_service.span_fields import span_fields
from evaluator_service.span_vocabularies import with_span_examples

logger = logging.getLogger(__name__)

SCORING_BATCH = 256
"""Spans the dispatcher reads at once (whole rows, at least one); the inline-scored ones among them share one
transaction."""

ScoreObserver = Callable[[Span, Sequence[ScoreResult], bytes], None]
"""Called with each enriched span, its results and its serialized ``ResourceSpans`` envelope, once the
span is durably stored for export (so a span scored again after a crash mid-scoring is observed once);
must return at once (e.g. queue the work) and should not raise."""

UnscoredObserver = Callable[[Span, bytes, str, str], None]
"""Called with a span that asked for scores and gets none at all (its requests are unreadable, or it became a
dead letter), its ``ResourceSpans`` envelope (``b""`` when unknown), a reason word (``invalid_request``,
``dead_letter``) and the detail written on the span; must return at once and should not raise."""

_Observation = tuple[Span, Sequence[ScoreResult], bytes]
"""What the score observers are told about one enriched span, held until it is stored."""


class _GroupCommit:
    """Stores enriched spans in shared transactions: whoever gets the lock writes everything finished so
    far, so a burst of scored spans costs one fsync instead of one each."""

    def __init__(self, store: SpanQueue) -> None:
        self._store = store
        self._lock = asyncio.Lock()
        self._pending: list[tuple[Sequence[ScoredRow], asyncio.Future[None]]] = []

    async def write(self, spans: Sequence[ScoredRow]) -> None:
        """Store scored rows for export, sharing a transaction with other writers."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((spans, done))
        async with self._lock:
            if not done.done():
                batch, self._pending = self._pending, []
                try:
                    await self._store.mark_scored([row for rows, _ in batch for row in rows])
                except BaseException as exc:  # cancellation too: nobody may wait forever on this batch
                    for _, fut in batch:
                        if fut is not done and not fut.done():
                            _fail(fut, exc)
                    raise
                for _, fut in batch:
                    if not fut.done():  # a waiter cancelled at shutdown cancels its own future
                        fut.set_result(None)
        await done


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)


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
        self._commit = _GroupCommit(store)
        self._runner = runner
        self._metrics = metrics
        self._on_scored = on_scored
        self._slots = asyncio.Semaphore(2 * concurrency)
        self._batch_slots = asyncio.Semaphore(2)
        self._batch = max(2 * concurrency, SCORING_BATCH)
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self.evaluator_id = ""
        """Written onto every scored span; the app sets it to ``host:port`` once its listener is bound."""
        self._dispatcher: asyncio.Task[None] | None = None
        self.score_observers: list[ScoreObserver] = []
        """Hooks (e.g. the alert manager's ``observe``) told about every scored span."""
        self.unscored_observers: list[UnscoredObserver] = []
        """Hooks (the console's not-evaluated record) told about every span that gets no score at all."""
        self.behaviors: BehaviorGrouper | None = None
        """Writes the behavior of a failing span onto it before it is stored (bounded; never raises)."""

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
        observed: list[_Observation] = []
        for row in rows:
            if self._stopping:
                break
            cursor = row.id
            if row.packed:
                ready.append(self._score_packed(row, statuses, observed))
                continue
            try:
                with stage("decode"):
                    span = Span.FromString(row.span)
                job = self._begin(span, row.resource)
                waiting = self._needs_waiting(job)
                if not waiting:
                    status = self._finish(span, job, row.resource, observed)
                    with stage("encode"):
                        data = span.SerializeToString()
            except StageFailed as failed:
                status, data = self._dead_letter(row.span, failed, row.resource)
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

    def _score_packed(
        self, row: QueuedSpan, statuses: Counter[str], observed: list[_Observation]
    ) -> ScoredRow:
        """Score the spans of a packed row that need no waiting; the others go back to the queue one by
        one (their inline results and metrics are dropped: cheap to compute again when their row is read)."""
        try:
            group = ScopeSpans.FromString(row.span)
        except Exception:  # our own bytes: only a damaged queue file gets here
            logger.exception("queued row %d cannot be read; dropping its %d spans", row.id, row.count)
            self._metrics.dead_lettered("decode", "dropped", row.count)
            return ScoredRow(row, b"", 0)
        originals = PackedOriginals(row.span)
        removed: list[int] = []
        requeue: list[bytes] = []
        for index, span in enumerate(group.spans):
            measurements: list[InlineMeasurement] = []
            try:
                job = self._begin(span, row.resource, measurements)
                if self._needs_waiting(job):
                    removed.append(index)
                    requeue.append(span.SerializeToString())  # _begin left it as it arrived
                    continue
                self._runner.record(*measurements)
                statuses[self._finish(span, job, row.resource, observed)] += 1
            except StageFailed as failed:
                status, data = self._dead_letter(originals[index], failed, row.resource)
                statuses[status] += 1
                span.Clear()
                if data:
                    span.MergeFromString(data)
                else:
                    removed.append(index)
        for index in reversed(removed):
            del group.spans[index]
        # A ScopeSpans holding only spans serializes as exactly its packed spans.
        try:
            return ScoredRow(row, group.SerializeToString(), len(group.spans), requeue)
        except Exception:
            return self._encode_one_by_one(row, group, originals, removed, requeue)

    def _encode_one_by_one(
        self, row: QueuedSpan, group: ScopeSpans, originals: PackedOriginals, removed: list[int],
        requeue: list[bytes],
    ) -> ScoredRow:
        """A packed row whose enriched spans do not serialize together: each span that does not serialize
        alone becomes a dead letter."""
        gone = set(removed)
        kept = [index for index in range(len(group.spans) + len(removed)) if index not in gone]
        spans: list[bytes] = []
        for span, index in zip(group.spans, kept, strict=True):
            try:
                with stage("encode"):
                    spans.append(span.SerializeToString())
            except StageFailed as failed:
                _, data = self._dead_letter(originals[index], failed, row.resource)
                if data:
                    spans.append(data)
        return ScoredRow(row, pack_spans(spans), len(spans), requeue)

    async def _store_later(self, ready: list[ScoredRow], statuses: Counter[str],
                           observed: list[_Observation]) -> None:
        """Store finished spans while the next ones are scored; at most two batches wait for the disk."""
        await self._batch_slots.acquire()
        task = asyncio.create_task(self._store_batch(ready, statuses, observed), name="judgeval-score-batch")
        self._tasks.add(task)
        task.add_done_callback(self._batch_stored)

    async def _store_batch(self, ready: list[ScoredRow], statuses: Counter[str],
                           observed: list[_Observation]) -> None:
        await self._commit.write(ready)
        for status, count in statuses.items():
            self._metrics.span_scored(status, count)
        self._observe(observed)
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

    async def _process(self, row: QueuedSpan, span: Span, job: _Job) -> None:
        observed: list[_Observation] = []
        try:
            status = await self._complete(span, job, row.resource, observed)
            with stage("encode"):
                data = span.SerializeToString()
        except StageFailed as failed:
            status, data = self._dead_letter(row.span, failed, row.resource)
            observed.clear()  # exported as it arrived: no scores to tell about
        await self._commit.write([ScoredRow(row, data, 1 if data else 0)])
        self._metrics.span_scored(status)
        self._observe(observed)
        self._on_scored()

    def _dead_letter(self, original: bytes, failed: StageFailed, resource: bytes = b"") -> tuple[str, bytes]:
        """The span as it arrived (``original``), marked failed with the reason; ``b""`` when even that
        fails (the span is dropped). Logged and counted either way."""
        reason = dead_letter_reason(failed)
        logger.error("%s; exported marked %s", reason, semconv.EvalStatus.FAILED.value)
        try:
            span = Span.FromString(original)
            self._tell_unscored(span, resource, "dead_letter", reason)
            mark_failed(span, reason, self._evaluator_attribute())
            data = span.SerializeToString()
        except Exception:
            logger.exception("a span that could not be %s cannot be marked either; dropping it",
                             STAGE_VERBS[failed.stage])
            self._metrics.dead_lettered(failed.stage, "dropped")
            return semconv.EvalStatus.FAILED.value, b""
        self._metrics.dead_lettered(failed.stage, "marked_failed")
        return semconv.EvalStatus.FAILED.value, data

    def _begin(
        self, span: Span, resource: bytes, measurements: list[InlineMeasurement] | None = None
    ) -> _Job:
        """Decode the span's requests, read the examples that rules left on the span, and score the inline
        ones (their metrics go to ``measurements`` if given, see :meth:`ScorerRunner.run_inline`); an
        unreadable span is marked failed (its one write). Raises :class:`StageFailed` for anything else
        that goes wrong."""
        with stage("decode"):
            raw = find_attribute(span.attributes, semconv.JUDGEVAL_EVAL_REQUESTS)
            if raw is None:
                return self._unreadable(span, resource,
                                        f"span is tagged {semconv.EvalStatus.PENDING.value} but has no "
                                              f"{semconv.JUDGEVAL_EVAL_REQUESTS} attribute")
            try:
                requests = decode_requests(raw)
            except InvalidEvaluationRequest as exc:
                return self._unreadable(span, resource, f"invalid {semconv.JUDGEVAL_EVAL_REQUESTS}: {exc}")
        fields = _SpanFields(span)
        if any(r.example_from for r in requests):
            with stage("decode"):
                requests = with_span_examples(requests, span, fields, resource)
        with stage("score"):
            results = [self._runner.run_inline(r, fields, measurements) for r in requests]
        return _Job(requests, fields, results)

    def _unreadable(self, span: Span, resource: bytes, reason: str) -> _Job:
        self._tell_unscored(span, resource, "invalid_request", reason)
        mark_failed(span, reason, self._evaluator_attribute())
        self._metrics.dead_lettered("decode", "marked_failed")
        return _Job([], _SpanFields(span), [], semconv.EvalStatus.FAILED.value)

    def _tell_unscored(self, span: Span, resource: bytes, reason: str, detail: str) -> None:
        for observe in self.unscored_observers:
            try:
                observe(span, resource, reason, detail)
            except Exception:  # an observer's bug must not keep the span from being exported
                logger.exception("unscored-span observer failed")

    def _needs_waiting(self, job: _Job) -> bool:
        if job.failed_status is not None:
            return False
        failing = False
        for result in job.results:
            if result is None:
                return True
            failing = failing or result.failed or result.error_kind is not None  # errors are grouped too
        return failing and self.behaviors is not None

    async def _complete(self, span: Span, job: _Job, resource: bytes, observed: list[_Observation]) -> str:
        """Run what the inline pass left, place a failing span in a behavior, enrich, tell observers."""
        if job.failed_status is not None:
            return job.failed_status
        missing = [i for i, result in enumerate(job.results) if result is None]
        judge_calls = self._runner.span_budget()  # one budget for all of this span's requests
        with stage("score"):
            if len(missing) == 1:  # the usual case: no gather, no extra task
                only = missing[0]
                job.results[only] = await self._runner.run(job.requests[only], job.fields, judge_calls)
            elif missing:
                done = await asyncio.gather(
                    *(self._runner.run(job.requests[i], job.fields, judge_calls) for i in missing))
                for i, result in zip(missing, done, strict=True):
                    job.results[i] = result
        results = job.completed()
        behavior = None
        if self.behaviors is not None:
            with stage("behavior"):
                behavior = await self.behaviors.assign(span, job.requests, results, resource)
        with stage("enrich"):
            return self._enrich(span, results, resource, observed, behavior)

    def _finish(self, span: Span, job: _Job, resource: bytes, observed: list[_Observation]) -> str:
        """:meth:`_complete` for a span with nothing to wait for."""
        if job.failed_status is not None:
            return job.failed_status
        with stage("enrich"):
            return self._enrich(span, job.completed(), resource, observed)

    def _enrich(
        self, span: Span, results: Sequence[ScoreResult], resource: bytes, observed: list[_Observation],
        behavior: Mapping[str, Any] | None = None,
    ) -> str:
        """Write the scores, the verdict, the behavior and the evaluator id onto ``span`` in one pass; the
        observers hear of it (from ``observed``) once it is stored."""
        status = enrich_span(span, results, {**(behavior or {}), **self._evaluator_attribute()})
        observed.append((span, results, resource))
        return status.value

    def _evaluator_attribute(self) -> dict[str, Any]:
        return {semconv.JUDGEVAL_EVAL_EVALUATOR: self.evaluator_id}

    def _observe(self, observed: Sequence[_Observation]) -> None:
        for span, results, resource in observed:
            for observe in self.score_observers:
                try:
                    observe(span, results, resource)
                except Exception:  # an observer's bug must not keep the span from being exported
                    logger.exception("score observer failed")


@dataclass(slots=True)
class _Job:
    """One span's scoring: its requests and the results known so far (``None``: still to run), or the
    status of a span that could not be scored at all (already marked)."""

    requests: list[EvaluationRequest]
    fields: Mapping[str, Any]
    results: list[ScoreResult | None]
    failed_status: str | None = None

    def completed(self) -> list[ScoreResult]:
        return [r for r in self.results if r is not None]


class _SpanFields(Mapping[str, Any]):
    """The span's attributes and status as example fields, read only if a scorer asks (``reads_span``)."""

    def __init__(self, span: Span) -> None:
        self._span = span
        self._fields: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._fields is None:
            self._fields = attributes_dict(self._span.attributes) | span_fields(self._span)
        return self._fields

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
