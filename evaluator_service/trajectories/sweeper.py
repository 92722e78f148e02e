"""The completion sweep: find trajectories that are due, score them, write their results, forget old ones.

Every ``tick_s`` (or when woken) the sweep asks the buffer for trajectories whose deadline passed (see
:mod:`evaluator_service.trajectories.completion`) and handles each on its own: one failing trajectory is
logged, counted and retried at the next tick, never blocking the others. A complete trajectory is scored
once per request (:class:`~evaluator_service.trajectories.scoring.TrajectoryScorerRunner`); its result spans
go into the durable span queue as ``EXPORT`` rows in one transaction (the forwarder sends them downstream
like any enriched span), their log records into the result-log queue
(:mod:`evaluator_service.trajectories.result_logs`), and only then is the trajectory marked scored. A crash
in between re-scores it after restart: results are at-least-once, the result key and revision tell repeats
apart. Score observers (score metrics, alerts) see each result span exactly as they see an enriched span.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from judgeval import semconv
from judgeval.data.trace import Trace
from judgeval.protocol.evaluation_request import EvaluationRequest
from judgeval.protocol.otlp_values import set_attributes
from judgeval.protocol.sampling import is_sampled_bytes
from judgeval.protocol.trajectory_request import InvalidTrajectoryRequest, decode_trajectory_requests
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.background_loop import BackgroundLoop
from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.queue import NewSpan, SpanQueue, SpanState
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.trajectories.buffer import Trajectory, TrajectoryBuffer, TrajectoryState
from evaluator_service.trajectories.completion import CompletionPolicy
from evaluator_service.trajectories.counters import TrajectoryCounters
from evaluator_service.trajectories.result_logs import ResultLogQueue, result_log_record
from evaluator_service.trajectories.results import RESULT_SCOPE, ResultTarget, result_span, trajectory_agents
from evaluator_service.trajectories.scoring import TrajectoryScorerRunner
from evaluator_service.trajectories.sessions import SessionCoordinator
from evaluator_service.trajectories.trace_view import trace_of

logger = logging.getLogger(__name__)

ScoreObserver = Callable[[Span, Sequence[ScoreResult], bytes], Any]
"""What the dispatcher's observers are: called with a result span, its results and resource envelope."""
UnscoredObserver = Callable[[Span, bytes, str, str], Any]
"""Told about a trajectory that asked for a score and is given up unscored: a span holding its trace id
(no span id: the bounding span never came), ``b""``, the reason word and the detail (see the dispatcher's
``UnscoredObserver``)."""

RETRY_FAILED_S = 30.0
"""How long a trajectory whose handling failed (its buffer read, the queue write) waits before the next
try."""

SWEEP_BATCH = 16
"""Trajectories a sweep handles at once (their scorers run concurrently)."""

INVALID_REQUEST_SCORER = "trajectory"
"""Scorer name on the error result of a bounding span whose requests attribute does not decode."""


class TrajectorySweeper:
    """Completes, scores and expires buffered trajectories."""

    def __init__(
        self,
        buffer: TrajectoryBuffer,
        policy: CompletionPolicy,
        runner: TrajectoryScorerRunner,
        queue: SpanQueue,
        counters: TrajectoryCounters,
        *,
        on_results: Callable[[], None],
        result_logs: ResultLogQueue | None = None,
        on_logs: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._buffer = buffer
        self._policy = policy
        self._runner = runner
        self._queue = queue
        self._counters = counters
        self._on_results = on_results
        self._result_logs = result_logs
        self._on_logs = on_logs
        self._clock = clock
        self.score_observers: list[ScoreObserver] = []
        self.unscored_observers: list[UnscoredObserver] = []
        """Told about traces given up unscored (``unbounded``); the app shares the dispatcher's list."""
        self.behaviors: BehaviorGrouper | None = None
        """Groups failing results into behaviors (the app's grouper, when behaviors are enabled)."""
        self.sessions: SessionCoordinator | None = None
        """Scores sessions across replicas through the shared state; ``None``: from this replica's spans."""
        self.evaluator_id = ""
        self._sweeping = asyncio.Lock()  # one sweep at a time: a trajectory is handled once per deadline
        self._loop = BackgroundLoop("trajectory-sweep", self._sweep_forever)

    def start(self) -> None:
        self._loop.start()

    def wake(self) -> None:
        self._loop.wake()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the buffer itself failed (disk): try again next tick
                logger.exception("trajectory sweep failed")
            await self._loop.wait(self._policy.config.tick_s)

    async def sweep(self) -> int:
        """Handle every trajectory due now; returns how many were handled."""
        async with self._sweeping:
            return await self._sweep()

    async def _sweep(self) -> int:
        handled = 0
        while True:
            due = await self._buffer.due(self._clock(), limit=SWEEP_BATCH)
            if not due:
                return handled
            # concurrently: one trajectory waiting for a slow judge does not hold up the others
            await asyncio.gather(*(self._handle_isolated(t) for t in due))
            handled += len(due)

    async def _handle_isolated(self, t: Trajectory) -> None:
        try:
            await self._handle(t)
        except Exception:  # this trajectory only: logged, tried again later
            logger.exception("trajectory %s failed; it is tried again in %gs", t.key, RETRY_FAILED_S)
            await self._buffer.postpone(t.key, self._clock() + RETRY_FAILED_S)

    async def _handle(self, t: Trajectory) -> None:
        now = self._clock()
        if t.state is TrajectoryState.DONE:
            await self._expire(t, now, "expired")
        elif t.requests is None:  # a trace that never got its bounding span
            await self._expire(t, now, "unbounded")
        else:
            await self._score(t, now)

    async def _expire(self, t: Trajectory, now: float, outcome: str) -> None:
        if t.kind == "trace" and t.trace_id is not None and await self._buffer.covered_by_session(t.trace_id):
            await self._buffer.finish(t.key, self._policy.held_due(now))  # its session still needs the spans
            return
        await self._buffer.delete(t.key)
        if t.kind == "session" and self.sessions is not None:
            await self.sessions.forget(t)
        self._counters.trajectories(outcome)
        if outcome == "unbounded" and t.trace_id is not None:
            self._tell_unscored(Span(trace_id=t.trace_id))

    def _tell_unscored(self, span: Span) -> None:
        detail = (f"no span carrying {semconv.JUDGEVAL_TRAJECTORY_REQUESTS} arrived for this trace's copies "
                  "within trajectories.trace_idle_s")
        for observe in self.unscored_observers:
            try:
                observe(span, b"", "unbounded_trajectory", detail)
            except Exception:  # an observer's bug must not stop the sweep
                logger.exception("unscored-trajectory observer failed")

    async def _score(self, t: Trajectory, now: float) -> None:
        if t.kind == "session" and self.sessions is not None:
            claim = await self.sessions.claim(t, self.evaluator_id)
            if claim is not None:
                await self._write(
                    t, claim.trace, claim.target, claim.resource, claim.requests, claim.revision
                )
                await self.sessions.scored(t, claim, self.evaluator_id)
                await self._buffer.finish(t.key, self._policy.held_due(now), claim.revision)
            return
        assert t.requests is not None and t.trace_id is not None
        trace_ids = (
            [t.trace_id] if t.kind == "trace" else await self._buffer.session_traces(t.session_id or "")
        )
        buffered = await self._buffer.spans_of(trace_ids)
        scope = semconv.TrajectoryScope.TRACE if t.kind == "trace" else semconv.TrajectoryScope.SESSION
        trace, spans = trace_of(
            buffered,
            scope=scope,
            bounding_span_id=t.bounding_span_id,
            trace_ids=trace_ids,
            session_id=t.session_id,
        )
        resource = next(
            (b.resource for b in buffered if Span.FromString(b.span).span_id == t.bounding_span_id),
            buffered[0].resource if buffered else b"",
        )
        target = ResultTarget(
            scope=scope,
            trace_id=t.trace_id,
            parent_span_id=t.bounding_span_id or b"",
            key_base=(
                f"trace:{t.trace_id.hex()}:{(t.bounding_span_id or b'').hex()}"
                if t.kind == "trace"
                else f"session:{t.session_id}"
            ),
            span_count=len(trace.trace_spans),
            links=_links(spans, trace_ids) if t.kind == "session" else (),
            session_id=t.session_id,
            truncated=await self._buffer.truncated_in(trace_ids),
            agents=trajectory_agents(trace),
        )
        await self._write(t, trace, target, resource, t.requests, t.revision + 1)
        await self._buffer.finish(t.key, self._policy.held_due(now), t.revision + 1)

    async def _write(
        self, t: Trajectory, trace: Trace, target: ResultTarget, resource: bytes, requests: str, revision: int
    ) -> None:
        """Score, then store the result spans (and their log records) durably and tell the observers."""
        results = await self._results(t, trace, requests)
        rows = [
            (result_span(target, request, result, revision, self.evaluator_id), result)
            for request, result in results
        ]
        if self.behaviors is not None:
            for (request, result), (span, _) in zip(results, rows, strict=True):
                await self._place_in_behavior(span, request, result, resource, target.agents)
        if rows:
            await self._queue.enqueue(
                [NewSpan(SpanState.EXPORT, resource, RESULT_SCOPE, s.SerializeToString()) for s, _ in rows]
            )
            self._on_results()
            if self._result_logs is not None:
                await self._result_logs.add(resource, [result_log_record(s) for s, _ in rows])
                self._on_logs()
        self._counters.trajectories("scored" if revision == 0 else "rescored")
        for span, result in rows:
            self._observe(span, result, resource)

    async def _results(self, t: Trajectory, trace: Trace, raw: str) -> list[tuple[Any, ScoreResult]]:
        try:
            requests = decode_trajectory_requests(raw)
        except InvalidTrajectoryRequest as exc:
            self._counters.trajectories("invalid_request")
            return [
                (
                    None,
                    ScoreResult(
                        INVALID_REQUEST_SCORER,
                        0.5,
                        error_kind="invalid_request",
                        error_message=f"{semconv.JUDGEVAL_TRAJECTORY_REQUESTS} {exc}",
                    ),
                )
            ]
        hosted = [r for r in requests if r.scorer.server_hosted]  # the others run in the agent process
        chosen = [r for r in hosted if t.trace_id is None or is_sampled_bytes(t.trace_id, r.sampling_rate)]
        self._counters.trajectories("local", len(requests) - len(hosted))
        self._counters.trajectories("not_sampled", len(hosted) - len(chosen))
        results = await asyncio.gather(*(self._runner.run(trace, r) for r in chosen))
        return list(zip(chosen, results, strict=True))

    async def _place_in_behavior(
        self, span: Span, request: Any, result: ScoreResult, resource: bytes, agents: Sequence[str]
    ) -> None:
        """A failing trajectory result joins a behavior like a failing span (by scorer name and reason),
        with the bounding span's service and environment and the trajectory's agents."""
        if not result.failed or request is None or self.behaviors is None:
            return
        placed = await self.behaviors.assign(
            span, [EvaluationRequest(scorer=request.scorer, example={})], [result], resource, agents
        )
        if placed:
            set_attributes(span, placed)

    def _observe(self, span: Span, result: ScoreResult, resource: bytes) -> None:
        for observe in self.score_observers:
            try:
                observe(span, [result], resource)
            except Exception:  # an observer's bug must not keep the result from being exported
                logger.exception("score observer failed on a trajectory result")


def _links(spans: Sequence[Span], trace_ids: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
    """Per trace of a session: its bounding span (the one carrying requests), else its root, else its
    first."""
    links = []
    for trace_id in trace_ids:
        mine = [s for s in spans if s.trace_id == trace_id]
        if not mine:
            continue
        bounding = [
            s for s in mine if any(a.key == semconv.JUDGEVAL_TRAJECTORY_REQUESTS for a in s.attributes)
        ]
        roots = [s for s in mine if not s.parent_span_id]
        links.append((trace_id, (bounding or roots or mine)[0].span_id))
    return links
