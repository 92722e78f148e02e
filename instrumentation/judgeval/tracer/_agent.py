"""Agent attribution: which agent (class instance) a span was started on behalf of.

``@judgment.agent()`` creates no span. For the duration of the decorated call it puts an
:class:`AgentIdentity` into the OpenTelemetry context, and :class:`AgentAttributionSpanProcessor` stamps
every span started in that context (ours, ``wrap()`` LLM spans, any other instrumentation's) with
``gen_ai.agent.name`` / ``gen_ai.agent.id`` and, when one agent calls another, the caller's name and id.

Agent frameworks name their agent on one span instead: the official OpenAI Agents instrumentation sets
``gen_ai.agent.name`` only on its ``invoke_agent`` span, OpenInference sets ``agent.name`` on spans of kind
``AGENT``. The same processor hands such an identity down: a span started under a parent span (in this
process) that names its agent carries that agent too, and so, transitively, do its descendants, so a rule
``when: {gen_ai.agent.name: WeatherAgent}`` reaches the agent's LLM calls.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.util.types import Attributes

from judgeval import semconv
from judgeval._internal_errors import log_internal_error
from judgeval.tracer._trajectory_context import unwrap_span

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
    entry_span_id: int = 0
    """Id of the span that was current when the agent call began: a span started right under it belongs
    to this agent, while a deeper parent span may name an agent of its own (a framework's agent span)."""

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


INHERITED_AGENT_ATTRIBUTES = (
    semconv.GEN_AI_AGENT_NAME,
    semconv.GEN_AI_AGENT_ID,
    semconv.JUDGEVAL_AGENT_CLASS,
    semconv.JUDGEVAL_AGENT_PARENT_NAME,
    semconv.JUDGEVAL_AGENT_PARENT_ID,
)
"""What a span takes over from a parent span that names its agent."""


def span_agent_attributes(name: str, attributes: Attributes) -> dict[str, Any] | None:
    """The agent attributes a span's children inherit from it, or ``None`` if it names no agent.

    An OpenInference ``AGENT`` span names its agent with ``agent.name``, which its instrumentation writes
    only when the span ends, so until then its span name (the agent's name) stands in. Any other span names
    its agent with ``gen_ai.agent.name`` (GenAI ``invoke_agent`` spans, and every span this processor
    stamped).
    """
    if not attributes:
        return None
    if attributes.get(semconv.OPENINFERENCE_SPAN_KIND) == semconv.OpenInferenceSpanKind.AGENT:
        return {semconv.GEN_AI_AGENT_NAME: attributes.get(semconv.OPENINFERENCE_AGENT_NAME) or name}
    if semconv.GEN_AI_AGENT_NAME in attributes:
        return {key: attributes[key] for key in INHERITED_AGENT_ATTRIBUTES if key in attributes}
    return None


def _parent_agent_attributes(parent_context: otel_context.Context | None) -> dict[str, Any] | None:
    """Agent attributes of the parent span, when it is a span of this process's SDK that names one."""
    parent = unwrap_span(trace.get_current_span(parent_context))
    if not isinstance(parent, ReadableSpan):  # a remote parent, or none: nothing to read
        return None
    return span_agent_attributes(parent.name, parent.attributes)


def enter_agent(owner: Any, identifier: str | None) -> object | None:
    """Attach ``owner``'s identity to the current context; returns the token for :func:`exit_agent`.

    A method of the agent already in context calling another of its methods is not a new nesting level,
    so nothing is attached and ``None`` is returned.
    """
    active = current_agent()
    if active is not None and active.instance_key == id(owner):
        return None
    identity = identify_agent(owner, identifier, parent=active)
    entry = trace.get_current_span().get_span_context()
    if entry.is_valid:
        identity = replace(identity, entry_span_id=entry.span_id)
    return otel_context.attach(otel_context.set_value(AGENT_CONTEXT_KEY, identity))


def exit_agent(token: object | None) -> None:
    """Undo :func:`enter_agent`."""
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]


class AgentAttributionSpanProcessor(SpanProcessor):
    """Stamps every span started inside an ``@agent`` call, or under a span that names its agent, with the
    agent's name, id and caller.

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
            identity = value if isinstance(value, AgentIdentity) else None
            own = span.attributes or {}
            # A span whose own instrumentation named its agent (an agent framework's invoke_agent span)
            # knows better than any enclosing agent: leave it as it is. An OpenInference AGENT span names
            # itself (its own agent) in the GenAI vocabulary, so rules and its children read one key.
            if semconv.GEN_AI_AGENT_NAME in own:
                return
            if own.get(semconv.OPENINFERENCE_SPAN_KIND) == semconv.OpenInferenceSpanKind.AGENT:
                span.set_attributes(span_agent_attributes(span.name, own) or {})
                return
            attributes = self._attributes_for(identity, parent_context)
            if attributes:
                span.set_attributes(attributes)
        except Exception:  # on_start must never raise into the code starting the span (but under pytest)
            log_internal_error("judgeval could not attribute a span to its agent")

    @staticmethod
    def _attributes_for(
        identity: AgentIdentity | None, parent_context: otel_context.Context | None
    ) -> dict[str, Any] | None:
        """The nearer agent wins: an ``@agent`` call entered right under the parent span, else the parent
        span's own agent (a framework's agent span, or a span already attributed), else the ``@agent``."""
        if identity is not None:
            parent_id = trace.get_current_span(parent_context).get_span_context().span_id
            if parent_id == identity.entry_span_id:
                return identity.span_attributes()
        inherited = _parent_agent_attributes(parent_context)
        if inherited is not None:
            return inherited
        return identity.span_attributes() if identity is not None else None

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
