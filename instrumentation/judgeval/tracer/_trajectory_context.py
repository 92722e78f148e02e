"""Marking a trajectory in the trace context: the ``judgeval=t`` member of W3C ``tracestate``.

The OpenTelemetry SDK gives a new span the ``trace_state`` of its parent's ``SpanContext`` (every built-in
sampler passes it on), and the W3C propagator sends the current span context's ``trace_state`` to the
services it calls. So while a function that bounds a trajectory to be scored by the evaluator runs, the
current span is a :class:`TrajectoryMarkedSpan`: the real span, with every call delegated to it, except that
its ``get_span_context()`` reports the ``trace_state`` with the member added. Every span started below it
(ours, ``wrap()``'s, any other instrumentation's: OpenAI, httpx, LangChain) and every process it calls then
carries the member in its exported ``trace_state``, and the collector can route those spans to the
evaluator's trajectory buffer. The user's own members are kept.

The bounding span itself was created before the decision could be made (sampling reads its trace id), so
its own ``trace_state`` is whatever it inherited; it is recognized by its ``judgeval.trajectory.requests``
attribute instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext, Status, StatusCode
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes, AttributeValue

from judgeval import semconv


def marked_trace_state(trace_state: TraceState) -> TraceState:
    """``trace_state`` with the ``judgeval=t`` member (added first, as W3C wants for a changed member)."""
    if trace_state.get(semconv.TRACESTATE_KEY) == semconv.TRACESTATE_TRAJECTORY:
        return trace_state
    if semconv.TRACESTATE_KEY in trace_state:
        return trace_state.update(semconv.TRACESTATE_KEY, semconv.TRACESTATE_TRAJECTORY)
    return trace_state.add(semconv.TRACESTATE_KEY, semconv.TRACESTATE_TRAJECTORY)


def is_marked(span_context: SpanContext) -> bool:
    """Whether ``span_context`` belongs to a trajectory marked for scoring."""
    return span_context.trace_state.get(semconv.TRACESTATE_KEY) == semconv.TRACESTATE_TRAJECTORY


class TrajectoryMarkedSpan(trace.Span):
    """The current span while a trajectory-bounding call runs: ``span`` with a marked span context.

    Everything else (attributes, events, status, ``end``, ``is_recording``, and any attribute of the SDK
    span such as ``attributes`` or ``name``) is the wrapped span's, so ``trace.get_current_span()`` keeps
    working for user code. :attr:`wrapped_span` is the real span.
    """

    __slots__ = ("_context", "wrapped_span")

    def __init__(self, span: trace.Span) -> None:
        self.wrapped_span = span
        own = span.get_span_context()
        self._context = SpanContext(
            own.trace_id, own.span_id, own.is_remote, own.trace_flags, marked_trace_state(own.trace_state)
        )

    def get_span_context(self) -> SpanContext:
        return self._context

    def end(self, end_time: int | None = None) -> None:
        self.wrapped_span.end(end_time)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self.wrapped_span.set_attributes(attributes)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.wrapped_span.set_attribute(key, value)

    def add_event(self, name: str, attributes: Attributes = None, timestamp: int | None = None) -> None:
        self.wrapped_span.add_event(name, attributes, timestamp)

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        self.wrapped_span.add_link(context, attributes)

    def update_name(self, name: str) -> None:
        self.wrapped_span.update_name(name)

    def is_recording(self) -> bool:
        return self.wrapped_span.is_recording()

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self.wrapped_span.set_status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self.wrapped_span.record_exception(exception, attributes, timestamp, escaped)

    def __getattr__(self, name: str) -> Any:  # the SDK span's read side: attributes, name, parent, ...
        return getattr(self.wrapped_span, name)

    def __repr__(self) -> str:
        return f"TrajectoryMarkedSpan({self.wrapped_span!r})"


def unwrap_span(span: trace.Span) -> trace.Span:
    """The real span behind a :class:`TrajectoryMarkedSpan` (any other span as it is)."""
    return span.wrapped_span if isinstance(span, TrajectoryMarkedSpan) else span


__all__ = ["TrajectoryMarkedSpan", "is_marked", "marked_trace_state", "unwrap_span"]
