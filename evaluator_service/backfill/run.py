"""One backfill run: score the planned spans with the production runner and write each result into its
trace, within a budget, reporting progress.

Spans are scored oldest first, ``concurrency`` at a time, each through
:meth:`~evaluator_service.scoring.runner.ScorerRunner.run` (the same scorers, sandbox, timeouts, retries,
pauses and judge rate limits as live traffic). Before a span is started the run checks the budget against
what was spent plus the estimate of the spans in flight, and stops (``stopped_by_budget``) at the first span
that would not fit. A span is claimed in the state database before it is scored
(:mod:`evaluator_service.state.backfill_rows`): a span another run claimed is skipped. A score is written as
a result span into the durable span queue (the forwarder exports it like an enriched span) and as a log
record into the result-log queue, and only then is the claim marked done; a crash in between scores the span
again next time (at-least-once, like trajectory results). A scoring that ends without a score (timeout, judge
error) is counted with its reason, written nowhere, and released for a later run. A scorer found paused
(before a span starts, or by a span's failure: its judge rejected our key) stops the run with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

from evaluator_service.backfill.estimate import Budget
from evaluator_service.backfill.plan import BackfillPlan, PlannedSpan
from evaluator_service.backfill.results import BACKFILL_SCOPE, result_log, result_span
from evaluator_service.queue import NewSpan, SpanQueue, SpanState
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.scoring.runner import ScorerRunner
from evaluator_service.state.backfill_rows import BackfillState
from evaluator_service.trajectories.result_logs import ResultLogQueue

logger = logging.getLogger(__name__)

MAX_ERROR_SAMPLES = 5


@dataclass
class BackfillProgress:
    """Counts of one run so far; the last one has ``finished`` set."""

    run_id: str
    spans_to_score: int
    scored: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped_claimed: int = 0
    judge_calls: int = 0
    cost_usd: float = 0.0
    results_written: int = 0
    finished: bool = False
    stopped_by_budget: bool = False
    stopped_reason: str = ""
    error_samples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ResultSinks:
    """Where results go: the span queue (and the forwarder to wake), the result-log queue (and its
    forwarder to wake)."""

    spans: SpanQueue
    spans_ready: Callable[[], None]
    logs: ResultLogQueue | None = None
    logs_ready: Callable[[], None] = lambda: None


class BackfillRun:
    """Executes one plan; iterate :meth:`execute` for progress (cancelling it stops the run)."""

    def __init__(self, plan: BackfillPlan, runner: ScorerRunner, state: BackfillState, sinks: ResultSinks,
                 *, budget: Budget, concurrency: int, lease_s: float, evaluator_id: str = "",
                 paused: Callable[[str], str | None] = lambda _name: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.plan = plan
        self.run_id = uuid.uuid4().hex[:16]
        self._runner = runner
        self._state = state
        self._sinks = sinks
        self._budget = budget
        self._concurrency = concurrency
        self._lease_s = lease_s
        self._evaluator_id = evaluator_id
        self._paused = paused
        self._clock = clock
        self.progress = BackfillProgress(self.run_id, len(plan.spans))
        self._reserved_calls = 0
        self._reserved_cost = 0.0
        self._claimed: set[tuple[str, str]] = set()

    async def execute(self) -> AsyncIterator[BackfillProgress]:
        """Score the plan; yields a snapshot after every finished span, the last one ``finished``."""
        running: set[asyncio.Task[None]] = set()
        try:
            for planned in self.plan.spans:
                while len(running) >= self._concurrency:
                    running = await self._wait(running)
                    yield replace(self.progress)
                self._stop_if_paused()
                if self.progress.stopped_reason:
                    break
                if not self._budget.allows(self.progress.judge_calls + self._reserved_calls,
                                           self.progress.cost_usd + self._reserved_cost, planned.cost):
                    self.progress.stopped_by_budget = True
                    self.progress.stopped_reason = f"budget ({self._budget.describe()})"
                    break
                if not await self._claim(planned):
                    self.progress.skipped_claimed += 1
                    continue
                self._reserved_calls += planned.cost.judge_calls
                self._reserved_cost += planned.cost.cost_usd
                running.add(asyncio.create_task(self._score(planned), name="judgeval-backfill"))
            while running:
                running = await self._wait(running)
                yield replace(self.progress)
            self.progress.finished = True
            yield replace(self.progress)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self._release_unfinished()

    async def _wait(self, running: set[asyncio.Task[None]]) -> set[asyncio.Task[None]]:
        done, still = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is not None:  # a bug here: counted, run goes on
                logger.error("backfill scoring task failed", exc_info=task.exception())
        return still

    async def _claim(self, planned: PlannedSpan) -> bool:
        stored = planned.stored
        claimed = await self._state.claim_backfill_span(
            self.plan.scorer.ref.name, self.plan.scorer.version, stored.trace_id, stored.span_id,
            self.run_id, self.run_id, self._clock(), self._lease_s)
        if claimed:
            self._claimed.add((stored.trace_id, stored.span_id))
        return claimed

    async def _score(self, planned: PlannedSpan) -> None:
        stored = planned.stored
        judge_calls = self._runner.span_budget()
        try:
            result = await self._runner.run(planned.request, planned.fields, judge_calls)
        finally:
            self._reserved_calls -= planned.cost.judge_calls
            self._reserved_cost -= planned.cost.cost_usd
        # Built-in judges count their calls (retries included); an uploaded scorer's are assumed.
        used = judge_calls.used or (planned.cost.judge_calls if result.outcome is not None else 0)
        self.progress.judge_calls += used
        per_call = planned.cost.cost_usd / planned.cost.judge_calls if planned.cost.judge_calls else 0.0
        self.progress.cost_usd += used * per_call
        key = (self.plan.scorer.ref.name, self.plan.scorer.version, stored.trace_id, stored.span_id)
        if result.outcome is None:
            self._count_error(planned, result)
            self._stop_if_paused()
            await self._state.release_backfill_span(*key, self.run_id)
        else:
            await self._write(planned, result)
            await self._state.finish_backfill_span(*key, self.run_id)
            if result.passed:
                self.progress.passed += 1
            else:
                self.progress.failed += 1
        self.progress.scored += 1
        self._claimed.discard((stored.trace_id, stored.span_id))

    async def _write(self, planned: PlannedSpan, result: ScoreResult) -> None:
        stored = planned.stored
        span = result_span(stored, result, self.plan.scorer.version, self.run_id, self._evaluator_id)
        resource = stored.resource_envelope()
        await self._sinks.spans.enqueue([NewSpan(SpanState.EXPORT, resource, BACKFILL_SCOPE,
                                                 span.SerializeToString())])
        self._sinks.spans_ready()
        if self._sinks.logs is not None:
            await self._sinks.logs.add(resource, [result_log(stored, span)])
            self._sinks.logs_ready()
        self.progress.results_written += 1

    def _stop_if_paused(self) -> None:
        """A paused scorer (its judge rejected our key, or an operator paused it) would fail every later span
        the same way: the run stops with the pause's reason."""
        reason = self._paused(self.plan.scorer.ref.name)
        if reason is not None and not self.progress.stopped_reason:
            self.progress.stopped_reason = f"scorer paused: {reason}"

    def _count_error(self, planned: PlannedSpan, result: ScoreResult) -> None:
        self.progress.errors += 1
        if len(self.progress.error_samples) < MAX_ERROR_SAMPLES:
            where = f"{planned.stored.trace_id}/{planned.stored.span_id}"
            self.progress.error_samples.append(f"{where}: {result.error_kind}: {result.error_message}")

    async def _release_unfinished(self) -> None:
        """Claims of spans a cancelled run did not finish go back, so a later run scores them at once."""
        scorer = self.plan.scorer
        for trace_id, span_id in list(self._claimed):
            with contextlib.suppress(Exception):
                await self._state.release_backfill_span(scorer.ref.name, scorer.version, trace_id, span_id,
                                                        self.run_id)
        self._claimed.clear()
