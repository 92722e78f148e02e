"""The finished spans of in-process trajectories that asked for a ``server_hosted=False`` trace scorer.

:class:`LocalTrajectorySpanProcessor` is added to the provider the first time a Tracer needs it. A sampled
call of ``@observe(scorer_config=TraceScorerConfig(scorer=<local scorer>))`` opens a trajectory for its span;
every span started in this process under that span (at any depth, by any instrumentation) joins it, and its
finished spans are kept until the bounding span ends. Then the trajectory is handed to the local-scoring
threads as a :class:`~judgeval.tracer._trajectory_scoring.TrajectoryScoringJob` and forgotten here.

Memory is bounded: at most ``max_open`` trajectories are open at once (a call past that runs unscored and
is counted in ``refused_trajectories``), at most ``max_spans`` spans are kept per trajectory plus its bounding
span (the rest are counted in ``dropped_spans`` and in the job, and the scorer sees the first ``max_spans`` to
finish and the bounding span), and at most
``max_open * max_spans`` unfinished spans are tracked. Each bound warns at the 1st, 2nd, 4th, 8th, ... time.
A span started after its trajectory's bounding span ended is not part of it.

``on_start``/``on_end`` run on the threads that start and end spans: with no open trajectory they return
after one dict test; otherwise they do a lookup and an append under a lock, never I/O.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import Logger
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext

from judgeval._internal_errors import log_internal_error
from judgeval.scorers.trace_scorer import TraceScorer
from judgeval.tracer._trajectory_scoring import TrajectoryScoringJob

logger = logging.getLogger("judgeval")

DEFAULT_MAX_OPEN_TRAJECTORIES = 256
"""Trajectories with a local trace scorer open at once in one process."""
DEFAULT_MAX_SPANS_PER_TRAJECTORY = 2000
"""Finished spans kept per trajectory (a long agent run has a few hundred)."""


@dataclass(eq=False)
class _OpenTrajectory:
    bounding: SpanContext
    scorers: tuple[TraceScorer, ...]
    spans: list[ReadableSpan] = field(default_factory=list)
    dropped: int = 0
    closed: bool = False


def _warn_at_powers_of_two(count: int, message: str) -> None:
    if count & (count - 1) == 0:
        logger.warning(message, count)


class LocalTrajectorySpanProcessor(SpanProcessor):
    """Collects in-process trajectories for local trace scorers; see the module docstring."""

    def __init__(
        self,
        submit: Callable[[TrajectoryScoringJob], bool],
        event_logger: Logger | None = None,
        max_open: int = DEFAULT_MAX_OPEN_TRAJECTORIES,
        max_spans: int = DEFAULT_MAX_SPANS_PER_TRAJECTORY,
    ) -> None:
        self._submit = submit
        self._event_logger = event_logger
        self._max_open = max_open
        self._max_spans = max_spans
        self._lock = threading.Lock()
        self._open: dict[int, _OpenTrajectory] = {}  # bounding span id -> its trajectory
        self._members: dict[int, tuple[_OpenTrajectory, ...]] = {}  # unfinished span id -> its trajectories
        self.refused_trajectories = 0
        self.dropped_spans = 0
        # A forked child (pre-fork servers) inherits the parent's open trajectories, whose bounding spans
        # end in the parent, and possibly a held lock: it starts empty. Weakly bound, so a processor
        # that is gone is not kept alive by the fork hook.
        reference = weakref.WeakMethod(self._forget_after_fork)
        os.register_at_fork(after_in_child=lambda: (method := reference()) is not None and method())

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._open = {}
        self._members = {}

    def open(self, bounding: SpanContext, scorers: tuple[TraceScorer, ...]) -> bool:
        """Start collecting the trajectory bounded by the span ``bounding`` (already started, not ended).

        False (counted, with a warning) when ``max_open`` trajectories are already open.
        """
        with self._lock:
            if len(self._open) >= self._max_open:
                self.refused_trajectories += 1
                _warn_at_powers_of_two(
                    self.refused_trajectories,
                    f"{self._max_open} trajectories with a local trace scorer are already open; "
                    "%d calls ran unscored so far",
                )
                return False
            trajectory = _OpenTrajectory(bounding, scorers)
            self._open[bounding.span_id] = trajectory
            self._members[bounding.span_id] = (*self._members.get(bounding.span_id, ()), trajectory)
        return True

    @property
    def open_count(self) -> int:
        """How many trajectories are being collected now."""
        return len(self._open)

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        if not self._members:
            return
        try:
            parent_id = trace.get_current_span(parent_context).get_span_context().span_id
            with self._lock:
                owners = self._members.get(parent_id)
                if owners and len(self._members) < self._max_open * self._max_spans:
                    self._members[span.get_span_context().span_id] = owners
        except Exception:  # on_start must never raise into the code starting the span (but under pytest)
            log_internal_error("judgeval could not add a span to its trajectory")

    def on_end(self, span: ReadableSpan) -> None:
        if not self._members:
            return
        try:
            self._collect(span)
        except Exception:
            log_internal_error("judgeval could not keep a finished span of a trajectory")

    def _collect(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        span_id = context.span_id if context is not None else 0
        dropped = 0
        spans: tuple[ReadableSpan, ...] = ()
        with self._lock:
            owners = self._members.pop(span_id, None)
            if owners is None:
                return
            for trajectory in owners:
                if trajectory.closed:
                    continue
                # The bounding span is always kept: it is what the trajectory is about.
                if len(trajectory.spans) < self._max_spans or trajectory.bounding.span_id == span_id:
                    trajectory.spans.append(span)
                else:
                    trajectory.dropped += 1
                    dropped += 1
            self.dropped_spans += dropped
            finished = self._open.pop(span_id, None)
            if finished is not None:
                finished.closed = True
                spans = tuple(finished.spans)
        if dropped:
            _warn_at_powers_of_two(
                self.dropped_spans,
                f"a trajectory reached its cap of {self._max_spans} spans; %d spans left out of local "
                "trace scoring so far",
            )
        if finished is not None:
            self._score(finished, spans)

    def _score(self, trajectory: _OpenTrajectory, spans: tuple[ReadableSpan, ...]) -> None:
        for scorer in trajectory.scorers:
            # A private copy per run, with no reason or score left over from an earlier run of the instance.
            private = scorer.model_copy(update={"reason": None, "score": None})
            self._submit(
                TrajectoryScoringJob(
                    scorer=private,
                    spans=spans,
                    bounding=trajectory.bounding,
                    dropped_spans=trajectory.dropped,
                    event_logger=self._event_logger,
                )
            )

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
