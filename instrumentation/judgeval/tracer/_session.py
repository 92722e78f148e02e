"""Session ids: ``gen_ai.conversation.id`` on every span of a conversation, so ``scope: session`` rules (and
``TraceScorerConfig(scope="session")``) can group its traces.

Two ways in, both on the :class:`~judgeval.tracer.Tracer`:

- ``with judgment.session("conv-42"): ...`` puts the id into the OpenTelemetry context: every span started
  in the block (a new trace per turn, or spans of other instrumentations) carries it, and so does the span
  that is current when the block starts;
- ``judgment.set_session_id("conv-42")`` inside a traced call sets it on the current span; spans started
  below that span afterwards (in this process) inherit it, like the 0.x ``set_customer_id``.

:class:`SessionSpanProcessor` does the stamping in ``on_start``; it is added to the provider the first time
either is used, so apps that never set a session pay nothing. A span that already names its conversation
(another instrumentation set ``gen_ai.conversation.id``) keeps its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from judgeval import semconv
from judgeval._internal_errors import log_internal_error
from judgeval.tracer._evaluate import JudgevalUsageWarning
from judgeval.tracer._provider import ProviderState
from judgeval.tracer._trajectory_context import unwrap_span

SESSION_CONTEXT_KEY = otel_context.create_key("judgeval-session-id")


def current_session_id(parent_context: otel_context.Context | None = None) -> str | None:
    """The session id spans started in ``parent_context`` (default: the current context) get, if any."""
    value = otel_context.get_value(SESSION_CONTEXT_KEY, parent_context)
    if isinstance(value, str):
        return value
    parent = unwrap_span(trace.get_current_span(parent_context))
    if isinstance(parent, ReadableSpan) and parent.attributes:
        inherited = parent.attributes.get(semconv.GEN_AI_CONVERSATION_ID)
        if isinstance(inherited, str):
            return inherited
    return None


def mark_current_span(state: ProviderState, session_id: object) -> bool:
    """Validate ``session_id`` (warn and return False if unusable), make sure the provider stamps sessions,
    and set it on the current span."""
    if not isinstance(session_id, str) or not session_id:
        warnings.warn(
            f"a session id must be a non-empty string, got {session_id!r}; spans are not marked",
            JudgevalUsageWarning,
            stacklevel=4,  # <- Tracer._use_sessions <- Tracer.session/set_session_id <- the user's code
        )
        return False
    with state.lock:
        if not isinstance(state.sessions, SessionSpanProcessor):
            state.sessions = SessionSpanProcessor()
            state.provider.add_span_processor(state.sessions)
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(semconv.GEN_AI_CONVERSATION_ID, session_id)
    return True


@contextmanager
def session_context(session_id: str) -> Iterator[None]:
    """Within the block, every span started carries ``gen_ai.conversation.id=session_id``."""
    token = otel_context.attach(otel_context.set_value(SESSION_CONTEXT_KEY, session_id))
    try:
        yield
    finally:
        otel_context.detach(token)


class SessionSpanProcessor(SpanProcessor):
    """Stamps ``gen_ai.conversation.id`` on spans started in a session (see the module docstring).

    ``on_start`` runs on the thread that starts the span: one context lookup and at most one attribute;
    it must not block or raise.
    """

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        try:
            session_id = current_session_id(parent_context)
            if session_id is not None and semconv.GEN_AI_CONVERSATION_ID not in (span.attributes or {}):
                span.set_attribute(semconv.GEN_AI_CONVERSATION_ID, session_id)
        except Exception:  # on_start must never raise into the code starting the span (but under pytest)
            log_internal_error("judgeval could not set the session id on a span")

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
