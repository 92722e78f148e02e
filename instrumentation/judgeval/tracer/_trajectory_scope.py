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

import warnings
from collections.abc import Callable
from typing import Any

from opentelemetry import trace

from judgeval import semconv
from judgeval._internal_errors import internal_errors_reraised, log_internal_error
from judgeval.tracer._evaluate import JudgevalUsageWarning
from judgeval.tracer._local_trajectories import LocalTrajectorySpanProcessor
from judgeval.tracer._trace_scorer_config import TraceScorerConfig
from judgeval.tracer._trajectory_context import TrajectoryMarkedSpan


class TrajectoryRequester:
    """Applies one decorated function's :class:`TraceScorerConfig` to the span of each of its calls."""

    def __init__(
        self,
        config: TraceScorerConfig,
        local_trajectories: Callable[[], LocalTrajectorySpanProcessor | None],
        attribute_limit: int | None = None,
    ) -> None:
        self._config = config
        self._local_trajectories = local_trajectories
        self._attribute_limit = attribute_limit  # the span attribute length limit from the environment

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
            self._write_request(span)
            return TrajectoryMarkedSpan(span)
        collector = self._local_trajectories()
        if collector is not None:
            collector.open(span_context, (config.scorer,))
        return span

    def _write_request(self, span: trace.Span) -> None:
        config, limit = self._config, self._attribute_limit
        request = config.request_text()
        span.set_attributes(
            {
                semconv.JUDGEVAL_TRAJECTORY_REQUESTS: request,
                semconv.JUDGEVAL_TRAJECTORY_SCORERS: (config.scorer.name,),
            }
        )
        if limit is not None and len(request) > limit:
            warnings.warn(
                f"the trajectory request of {config.scorer.name!r} is {len(request)} characters, over the "
                f"span attribute length limit of {limit} (OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT / "
                "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT), so it will be cut and the evaluator will refuse it; "
                "raise the limit or shrink the scorer's config",
                JudgevalUsageWarning,
                stacklevel=2,
            )
