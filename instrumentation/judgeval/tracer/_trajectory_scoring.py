"""Scoring one in-process trajectory with a ``server_hosted=False`` trace scorer, and writing the result.

Runs on a local-scoring thread (:mod:`judgeval.tracer._local_scoring`), never on the caller's: the finished
spans become a :class:`~judgeval.data.trace.Trace`, the scorer's ``a_score_trace`` runs under the same
timeout as local example scorers, and the result leaves as the evaluator writes trajectory results:

- a span ``evaluate <scorer>`` whose parent is the bounding span (long exported by then), with the flat
  ``judgeval.score.*`` attributes, the span-level verdict, ``judgeval.trajectory.scope`` and
  ``judgeval.trajectory.span_count``, and one ``gen_ai.evaluation.result`` span event;
- the same ``gen_ai.evaluation.result`` as an OTLP log record carrying the bounding span's trace/span
  context, through the OpenTelemetry logs API (a no-op unless a logger provider is installed).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import Logger, LoggerProvider, get_logger
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext

from judgeval import semconv
from judgeval.data.trace import Trace
from judgeval.protocol.score_attributes import error_score_attributes, score_attributes, verdict_attributes
from judgeval.scorers.trace_scorer import TraceScorer
from judgeval.tracer._trace_building import trace_span

logger = logging.getLogger("judgeval")

TIMEOUT_ERROR_KIND = "timeout"  # the error kind the evaluator service records for a timed-out scorer
INSTRUMENTATION_NAME = "judgeval"


def build_trace(spans: tuple[ReadableSpan, ...], bounding: SpanContext) -> Trace:
    """The trajectory the scorer sees: ``spans`` in start order, bounded by the span ``bounding``."""
    return Trace.of(
        [trace_span(span) for span in spans],
        scope=semconv.TrajectoryScope.TRACE.value,
        bounding_span_id=format(bounding.span_id, "016x"),
    )


def _as_score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"a_score_trace must return a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class TrajectoryScoringJob:
    """One local trajectory score: a private copy of the scorer, the trajectory's finished spans, and the
    span that bounds it. ``dropped_spans`` counts spans left out because the trajectory was over its cap."""

    scorer: TraceScorer
    spans: tuple[ReadableSpan, ...]
    bounding: SpanContext
    dropped_spans: int = 0
    event_logger: Logger | None = None

    async def _score(
        self, trace_: Trace, timeout_seconds: float
    ) -> tuple[dict[str, Any], dict[str, Any], bool]:
        scorer = self.scorer
        try:
            value = _as_score(await asyncio.wait_for(scorer.a_score_trace(trace_), timeout_seconds))
        except TimeoutError:
            logger.warning("local trace scorer %r gave no answer within %gs", scorer.name, timeout_seconds)
            event, attrs = error_score_attributes(
                scorer.name, TIMEOUT_ERROR_KIND, f"no answer within {timeout_seconds:g}s"
            )
            return event, attrs, False
        except Exception as exc:
            logger.warning("local trace scorer %r failed: %s: %s", scorer.name, type(exc).__name__, exc)
            event, attrs = error_score_attributes(scorer.name, type(exc).__name__, str(exc))
            return event, attrs, False
        scorer.score = value
        event, attrs = score_attributes(scorer.name, value, scorer.threshold, scorer.reason)
        return event, attrs, True

    def run(self, loop: asyncio.AbstractEventLoop, tracer: trace.Tracer, timeout_seconds: float) -> None:
        """Score the trajectory on ``loop`` (this thread's) and emit the result span and log record."""
        started = time.time_ns()
        trace_ = build_trace(self.spans, self.bounding)
        event, attrs, scored = loop.run_until_complete(self._score(trace_, timeout_seconds))
        trajectory: dict[str, str | int] = {
            semconv.JUDGEVAL_TRAJECTORY_SCOPE: semconv.TrajectoryScope.TRACE.value,
            semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT: len(trace_.trace_spans),
        }
        success = attrs.get(semconv.score_attribute(self.scorer.name, semconv.ScoreField.SUCCESS))
        parent = trace.set_span_in_context(NonRecordingSpan(self.bounding))
        span = tracer.start_span(f"evaluate {self.scorer.name}", context=parent, start_time=started)
        span.set_attributes(
            {
                semconv.JUDGEVAL_SPAN_TYPE: semconv.SpanType.EVALUATION.value,
                semconv.JUDGEVAL_EVALUATED_SPAN_ID: format(self.bounding.span_id, "016x"),
                **verdict_attributes(((success is True) if scored else None,)),
                **attrs,
                **trajectory,
            }
        )
        span.add_event(semconv.GEN_AI_EVALUATION_RESULT_EVENT, event)
        span.end()
        if self.event_logger is not None:
            self.event_logger.emit(
                event_name=semconv.GEN_AI_EVALUATION_RESULT_EVENT,
                context=parent,
                attributes={**event, **trajectory},
            )


def trajectory_event_logger(logger_provider: LoggerProvider | None = None) -> Logger:
    """The OpenTelemetry logger trajectory results are emitted through: ``logger_provider``'s, else the
    global logger provider's (a no-op until an SDK ``LoggerProvider`` is installed, which it follows once
    one is)."""
    return get_logger(INSTRUMENTATION_NAME, logger_provider=logger_provider)
