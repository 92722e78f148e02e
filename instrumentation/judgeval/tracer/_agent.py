"""Agent attribution: which agent (class instance) a span was started on behalf of.

``@judgment.agent()`` creates no span. For the duration of the decorated call it puts an
:class:`AgentIdentity` into the OpenTelemetry context, and :class:`AgentAttributionSpanProcessor` stamps
every span started in that context (ours, ``wrap()`` LLM spans, any other instrumentation's) with
``gen_ai.agent.name`` / ``gen_ai.agent.id`` and, when one agent calls another, the caller's name and id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from judgeval import semconv
from judgeval._internal_errors import log_internal_error

AGENT_CONTEXT_KEY = otel_context.create_key("judgeval-agent")

# Attributes tried, in order, for the per-instance part of ``gen_ai.agent.id`` when no identifier is given.
DEFAULT_IDENTIFIER_ATTRIBUTES = ("id", "agent_id", "name")


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """The agent a call runs on behalf of, and the agent that called it."""

    name: str
    id: str
    class_path: str
    instance_key: int
    parent: AgentIdentity | None = None

    def span_attributes(self) -> dict[str, str]:
        """The attributes every span started under this agent carries."""
        attributes = {
            semconv.GEN_AI_AGENT_NAME: self.name,
            semconv.GEN_AI_AGENT_ID: self.id,
            semconv.JUDGEVAL_AGENT_CLASS: self.class_path,
        }
        if self.parent is not None:
            attributes[semconv.JUDGEVAL_AGENT_PARENT_NAME] = self.parent.name
            attributes[semconv.JUDGEVAL_AGENT_PARENT_ID] = self.parent.id
        return attributes


def current_agent() -> AgentIdentity | None:
    """The agent of the current OpenTelemetry context, if any."""
    value = otel_context.get_value(AGENT_CONTEXT_KEY)
    return value if isinstance(value, AgentIdentity) else None


def _instance_suffix(instance: Any, identifier: str | None) -> str:
    names = (identifier,) if identifier else DEFAULT_IDENTIFIER_ATTRIBUTES
    for attribute in names:
        value = getattr(instance, attribute, None)
        if value is not None and not callable(value):
            return f":{value}"
    return ""


def identify_agent(owner: Any, identifier: str | None, parent: AgentIdentity | None) -> AgentIdentity:
    """Identity of ``owner``: an agent instance (methods) or the decorated function itself."""
    if callable(owner) and hasattr(owner, "__qualname__") and not isinstance(owner, type):
        # A plain function decorated with @agent: the function is the agent.
        name = owner.__name__
        class_path = f"{owner.__module__}.{owner.__qualname__}"
        suffix = ""
    else:
        cls = owner if isinstance(owner, type) else type(owner)
        name = cls.__name__
        class_path = f"{cls.__module__}.{cls.__qualname__}"
        suffix = "" if isinstance(owner, type) else _instance_suffix(owner, identifier)
    return AgentIdentity(
        name=name, id=f"{class_path}{suffix}", class_path=class_path, instance_key=id(owner), parent=parent
    )


def enter_agent(owner: Any, identifier: str | None) -> object | None:
    """Attach ``owner``'s identity to the current context; returns the token for :func:`exit_agent`.

    A method of the agent already in context calling another of its methods is not a new nesting level,
    so nothing is attached and ``None`` is returned.
    """
    active = current_agent()
    if active is not None and active.instance_key == id(owner):
        return None
    identity = identify_agent(owner, identifier, parent=active)
    return otel_context.attach(otel_context.set_value(AGENT_CONTEXT_KEY, identity))


def exit_agent(token: object | None) -> None:
    """Undo :func:`enter_agent`."""
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]


class AgentAttributionSpanProcessor(SpanProcessor):
    """Stamps every span started inside an ``@agent`` call with the agent's name, id and caller.

    ``on_start`` runs synchronously on the thread that starts the span, so it only reads the context and
    sets a handful of attributes; it must not block or raise. A span started with its own
    ``gen_ai.agent.name`` (another agent framework's instrumentation) is left untouched.
    """

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        try:
            value = otel_context.get_value(AGENT_CONTEXT_KEY, parent_context)
            if value is None and parent_context is not None:
                # An explicit parent context (e.g. from a propagator) may not carry our key; the caller's may.
                value = otel_context.get_value(AGENT_CONTEXT_KEY)
            if not isinstance(value, AgentIdentity):  # outside any agent: the common, cheap case
                return
            # A span whose own instrumentation named its agent (an agent framework's invoke_agent span)
            # knows better than the enclosing @agent call: leave it as it is.
            own = span.attributes or {}
            if semconv.GEN_AI_AGENT_NAME not in own:
                span.set_attributes(value.span_attributes())
        except Exception:  # on_start must never raise into the code starting the span (but under pytest)
            log_internal_error("judgeval could not attribute a span to its agent")

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
