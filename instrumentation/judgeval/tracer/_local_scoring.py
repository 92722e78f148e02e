"""Runs ``server_hosted=False`` scorers in the agent process, off the caller's thread.

Up to ``concurrency`` daemon threads, each with its own asyncio loop, run one job at a time; ``submit``
only hands a job over (bounded: when too many are pending the job is dropped and counted, with a
warning). Each run is bounded by a timeout, so a scorer
that hangs cannot hold a concurrency slot forever; it then counts as a ``timeout`` error score. Each
result leaves as a child span of the evaluated span named ``evaluate <scorer>``, carrying the same
``gen_ai.evaluation.result`` event and flat ``judgeval.score.*`` attributes the evaluator service writes
and the same span-level verdict (see :mod:`judgeval.protocol.score_attributes`).
The score span is never tagged ``pending``, so the collector does not route it to the evaluator.
Local trace scorers' jobs (:class:`ScoringTask`, see :mod:`judgeval.tracer._trajectory_scoring`) share the
same threads, queue bound and timeout, and write their own result.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext

from judgeval import semconv
from judgeval._internal_errors import log_internal_error
from judgeval.protocol.score_attributes import error_score_attributes, score_attributes, verdict_attributes

logger = logging.getLogger("judgeval")

DEFAULT_MAX_PENDING = 1000
DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT_SECONDS = 30.0
"""How long one local ``a_score_example`` may run (the evaluator's default scorer timeout)."""
EXIT_DRAIN_SECONDS = 2.0
TIMEOUT_ERROR_KIND = "timeout"  # the error kind the evaluator service records for a timed-out scorer


@dataclass(frozen=True, slots=True)
class LocalScoringJob:
    """One local evaluation: a private copy of the scorer, the example, and the span it scores."""

    scorer: Any  # an ExampleScorer copy
    example: Any
    target: SpanContext


class ScoringTask(Protocol):
    """A local job that scores and writes its own result (a trajectory score), run on a scoring thread."""

    def run(self, loop: asyncio.AbstractEventLoop, tracer: trace.Tracer, timeout_seconds: float) -> None:
        """Score on ``loop`` (the thread's own) within ``timeout_seconds``, then emit the result."""


def _as_score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"a_score_example must return a finite number, got {value!r}")
    return float(value)


async def score_job(
    job: LocalScoringJob, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Run the scorer; returns ``(event_attrs, span_attrs, scored)``; exceptions become error scores."""
    scorer = job.scorer
    try:
        value = _as_score(await asyncio.wait_for(scorer.a_score_example(job.example), timeout_seconds))
    except TimeoutError:
        logger.warning("local scorer %r gave no answer within %gs", scorer.name, timeout_seconds)
        event, attrs = error_score_attributes(
            scorer.name, TIMEOUT_ERROR_KIND, f"no answer within {timeout_seconds:g}s"
        )
        return event, attrs, False
    except Exception as exc:
        logger.warning("local scorer %r failed: %s: %s", scorer.name, type(exc).__name__, exc)
        event, attrs = error_score_attributes(scorer.name, type(exc).__name__, str(exc))
        return event, attrs, False
    scorer.score = value
    event, attrs = score_attributes(scorer.name, value, scorer.threshold, scorer.reason)
    return event, attrs, True


class LocalScoringExecutor:
    """Background threads running local scorers, each with its own asyncio loop; see the module docstring.

    One job runs per thread at a time, on up to ``concurrency`` threads started as jobs arrive: a scorer
    that blocks (a synchronous HTTP client inside ``a_score_example``, like the docs' example) holds only
    its own thread, never the other scores. A blocked thread cannot be interrupted; its run becomes a
    ``timeout`` score once the blocking call returns.
    """

    def __init__(
        self,
        tracer: trace.Tracer,
        max_pending: int = DEFAULT_MAX_PENDING,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._tracer = tracer
        self._max_pending = max_pending
        self._concurrency = concurrency
        self._timeout_seconds = timeout_seconds
        self._pending = 0
        self.dropped = 0
        self._cond = threading.Condition()
        self._jobs: queue.SimpleQueue[LocalScoringJob | ScoringTask | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.pid = os.getpid()
        atexit.register(self.drain, EXIT_DRAIN_SECONDS)

    def submit(self, job: LocalScoringJob | ScoringTask) -> bool:
        """Queue ``job`` for a scoring thread without blocking; False (and a counted drop) when full."""
        with self._cond:
            if self._pending >= self._max_pending:
                self.dropped += 1
                if self.dropped & (self.dropped - 1) == 0:  # warn at 1, 2, 4, 8, ... drops
                    logger.warning("local scoring queue full; %d evaluations dropped so far", self.dropped)
                return False
            self._pending += 1
            if self._pending > len(self._threads) and len(self._threads) < self._concurrency:
                thread = threading.Thread(target=self._serve, name="judgeval-local-scoring", daemon=True)
                self._threads.append(thread)
                thread.start()
        self._jobs.put(job)
        return True

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while (job := self._jobs.get()) is not None:
                self._run(loop, job)
        finally:
            loop.close()

    def _run(self, loop: asyncio.AbstractEventLoop, job: LocalScoringJob | ScoringTask) -> None:
        try:
            if not isinstance(job, LocalScoringJob):
                job.run(loop, self._tracer, self._timeout_seconds)
                return
            started = time.time_ns()
            event, attrs, scored = loop.run_until_complete(score_job(job, self._timeout_seconds))
            self._emit(job, event, attrs, scored, started)
        except Exception:
            log_internal_error("judgeval local scoring failed")
        finally:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def _emit(
        self, job: LocalScoringJob, event: dict[str, Any], attrs: dict[str, Any], scored: bool, started: int
    ) -> None:
        name = job.scorer.name
        success = attrs.get(semconv.score_attribute(name, semconv.ScoreField.SUCCESS))
        passed = (success is True) if scored else None
        parent = trace.set_span_in_context(NonRecordingSpan(job.target))
        span = self._tracer.start_span(f"evaluate {name}", context=parent, start_time=started)
        span.set_attributes(
            {
                semconv.JUDGEVAL_SPAN_TYPE: semconv.SpanType.EVALUATION.value,
                semconv.JUDGEVAL_EVALUATED_SPAN_ID: format(job.target.span_id, "016x"),
                **verdict_attributes((passed,)),
                **attrs,
            }
        )
        span.add_event(semconv.GEN_AI_EVALUATION_RESULT_EVENT, event)
        span.end()

    def _inherited_by_fork(self) -> bool:
        # After ``fork`` the child has a copy of this object but not its thread: jobs pending in the parent
        # will never finish here, so waiting for them would only stall the child's flush and exit.
        return self.pid != os.getpid()

    def close(self, timeout_seconds: float = EXIT_DRAIN_SECONDS) -> None:
        """Drain for up to ``timeout_seconds``, then stop the loop thread; later submits are dropped."""
        atexit.unregister(self.drain)
        if self._inherited_by_fork():
            return
        self.drain(timeout_seconds)
        with self._cond:
            self._max_pending = 0
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout_seconds
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def drain(self, timeout_seconds: float) -> bool:
        """Wait up to ``timeout_seconds`` for submitted jobs to finish; True if none are left.

        In a forked child the parent's jobs are not waited for (they run, and are exported, in the parent).
        """
        if self._inherited_by_fork():
            return True
        deadline = time.monotonic() + timeout_seconds
        with self._cond:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True
