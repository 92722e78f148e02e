"""What ``@observe(scorer_config=TraceScorerConfig(...))`` does to each call's span.

Per call, on the caller's thread and without I/O: decide (sampling from the trace id, then the config's
``run_condition``); for a ``server_hosted=True`` scorer write the trajectory request onto the span and make
the call's current span a :class:`~judgeval.tracer._trajectory_context.TrajectoryMarkedSpan`, so spans
below it (in this process and in the services it calls) carry ``judgeval=t`` in their ``tracestate``; for a
local scorer open the trajectory in the provider's
:class:`~judgeval.tracer._local_trajectories.LocalTrajectorySpanProcessor` instead (nothing is written on
the span and nothing is routed to the evaluator: the agent process scores it once the span ends).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace

from judgeval import semconv
from judgeval._internal_errors import internal_errors_reraised, log_internal_error
from judgeval.tracer._local_trajectories import LocalTrajectorySpanProcessor
from judgeval.tracer._trace_scorer_config import TraceScorerConfig
from judgeval.tracer._trajectory_context import TrajectoryMarkedSpan


class TrajectoryRequester:
    """Applies one decorated function's :class:`TraceScorerConfig` to the span of each of its calls."""

    def __init__(
        self,
        config: TraceScorerConfig,
        local_trajectories: Callable[[], LocalTrajectorySpanProcessor | None],
    ) -> None:
        self._config = config
        self._local_trajectories = local_trajectories

    def current_span_for(self, span: trace.Span, args: tuple[Any, ...], kwargs: dict[str, Any]) -> trace.Span:
        """The span to make current while the call runs: ``span``, or ``span`` marked as a trajectory."""
        if not span.is_recording():
            return span
        config = self._config
        span_context = span.get_span_context()
        try:
            wanted = config.wanted(span_context.trace_id, args, kwargs)
        except Exception:
            if internal_errors_reraised():  # the call will not run: do not leave its span open
                span.end()
            log_internal_error(
                "run_condition of the trace scorer %r raised; this call runs unscored", config.scorer.name
            )
            return span
        if not wanted:
            return span
        if config.server_hosted:
            span.set_attributes(
                {
                    semconv.JUDGEVAL_TRAJECTORY_REQUESTS: config.request_text(),
                    semconv.JUDGEVAL_TRAJECTORY_SCORERS: (config.scorer.name,),
                }
            )
            return TrajectoryMarkedSpan(span)
        collector = self._local_trajectories()
        if collector is not None:
            collector.open(span_context, (config.scorer,))
        return span
