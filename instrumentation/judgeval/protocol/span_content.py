"""A span's input and output from whichever attribute vocabulary it carries: the one lookup the SDK (a
``server_hosted=False`` trace scorer's :class:`~judgeval.data.trace.TraceSpan`) and the evaluator (rules'
examples, trajectories' ``Trace``) both use, so one span means the same on both sides.

Instrumentations spell an LLM call's input and output differently: the current GenAI semantic conventions
(``gen_ai.input.messages`` / ``gen_ai.output.messages``), the older GenAI ones and OpenLLMetry
(``gen_ai.prompt.<i>.content`` / ``gen_ai.completion.<i>.content``, older OpenLLMetry ``llm.prompts.<i>`` /
``llm.completions.<i>``, or ``gen_ai.prompt`` / ``gen_ai.completion`` as one attribute or on
``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events), OpenInference
(``llm.input_messages.<i>.message.content``, ``input.value`` / ``output.value``), OpenLLMetry's workflow
spans (``traceloop.entity.input`` / ``.output``), Judgment's SDK (``judgment.input`` / ``judgment.output``)
and our own ``@observe`` (``judgeval.input`` / ``judgeval.output``).

:data:`FIELD_SOURCES` lists, per example field, where each vocabulary keeps it, most specific first; the
first source the span has wins. Current GenAI values are passed on as they are (JSON messages); indexed
message attributes become their messages' text, one line per message. Keys come from
:mod:`judgeval.semconv`. Attribute values are read as plain JSON data (arrays as lists).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from judgeval import semconv

SpanEvent = tuple[str, Mapping[str, Any]]
"""A span event as the lookup reads it: its name and attributes."""

Reader = Callable[[Mapping[str, Any], Iterable[SpanEvent]], Any]
"""Reads one field from a span's attributes and events; ``None`` when the span lacks it."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where one vocabulary keeps one example field."""

    vocabulary: str
    read: Reader


def attribute(key: str) -> Reader:
    """The value of one attribute, as it is."""
    return lambda attributes, _events: attributes.get(key)


def indexed_messages(prefix: str, *content_leaves: str) -> Reader:
    """The text of indexed messages ``<prefix><i>.<leaf>``, in index order, one line per message; the first
    of ``content_leaves`` a message has is its text."""

    def read(attributes: Mapping[str, Any], _events: Iterable[SpanEvent]) -> Any:
        messages: dict[int, dict[str, Any]] = {}
        for key, value in attributes.items():
            if key.startswith(prefix) and value is not None:
                index, _, leaf = key[len(prefix):].partition(".")
                if index.isdigit() and leaf in content_leaves:
                    messages.setdefault(int(index), {})[leaf] = value
        texts = [
            str(next(message[leaf] for leaf in content_leaves if leaf in message))
            for _, message in sorted(messages.items())
        ]
        return "\n".join(texts) if texts else None

    return read


def event_attribute(event_name: str, key: str) -> Reader:
    """``key`` of the span's events named ``event_name``, one line per event."""

    def read(_attributes: Mapping[str, Any], events: Iterable[SpanEvent]) -> Any:
        values = [
            str(attrs[key]) for name, attrs in events if name == event_name and attrs.get(key) is not None
        ]
        return "\n".join(values) if values else None

    return read


_OI_CONTENT = ("message.content", "message.contents.0.message_content.text")

FIELD_SOURCES: Mapping[str, tuple[Source, ...]] = {
    "input": (
        Source("genai", attribute(semconv.GEN_AI_INPUT_MESSAGES)),
        Source("genai-legacy", indexed_messages(semconv.GEN_AI_PROMPT_PREFIX, "content")),
        Source("genai-legacy", attribute(semconv.GEN_AI_PROMPT)),
        Source("genai-legacy", event_attribute(semconv.GEN_AI_CONTENT_PROMPT_EVENT, semconv.GEN_AI_PROMPT)),
        Source("genai-events", event_attribute(semconv.GEN_AI_USER_MESSAGE_EVENT, "content")),
        Source("openllmetry-older", indexed_messages(semconv.LLM_PROMPTS_PREFIX, "content")),
        Source("openinference", indexed_messages(semconv.OPENINFERENCE_INPUT_MESSAGES_PREFIX, *_OI_CONTENT)),
        Source("openinference", attribute(semconv.OPENINFERENCE_INPUT_VALUE)),
        Source("openllmetry", attribute(semconv.TRACELOOP_ENTITY_INPUT)),
        Source("judgment", attribute(semconv.JUDGMENT_INPUT)),
        Source("judgeval", attribute(semconv.JUDGEVAL_INPUT)),
    ),
    "actual_output": (
        Source("genai", attribute(semconv.GEN_AI_OUTPUT_MESSAGES)),
        Source("genai-legacy", indexed_messages(semconv.GEN_AI_COMPLETION_PREFIX, "content")),
        Source("genai-legacy", attribute(semconv.GEN_AI_COMPLETION)),
        Source(
            "genai-legacy",
            event_attribute(semconv.GEN_AI_CONTENT_COMPLETION_EVENT, semconv.GEN_AI_COMPLETION),
        ),
        Source("genai-events", event_attribute(semconv.GEN_AI_CHOICE_EVENT, "message")),
        Source("openllmetry-older", indexed_messages(semconv.LLM_COMPLETIONS_PREFIX, "content")),
        Source("openinference", indexed_messages(semconv.OPENINFERENCE_OUTPUT_MESSAGES_PREFIX, *_OI_CONTENT)),
        Source("openinference", attribute(semconv.OPENINFERENCE_OUTPUT_VALUE)),
        Source("openllmetry", attribute(semconv.TRACELOOP_ENTITY_OUTPUT)),
        Source("judgment", attribute(semconv.JUDGMENT_OUTPUT)),
        Source("judgeval", attribute(semconv.JUDGEVAL_OUTPUT)),
    ),
}
"""Per example field, where each vocabulary keeps it; the first one a span has wins."""

RESOLVED_FIELDS = frozenset(FIELD_SOURCES)
"""Example fields a rule fills from the span's vocabulary without a mapping."""

ROLE_KEYS = (
    semconv.JUDGEVAL_SPAN_TYPE,
    semconv.JUDGMENT_SPAN_KIND,
    semconv.GEN_AI_OPERATION_NAME,
    semconv.OPENINFERENCE_SPAN_KIND,
    semconv.TRACELOOP_SPAN_KIND,
)
"""Where a span names its role in a trajectory (``llm``, ``tool``, ``chat``, ...), most specific first."""

_TOOL_CALL_FALLBACK = {
    "input": semconv.GEN_AI_TOOL_CALL_ARGUMENTS,
    "actual_output": semconv.GEN_AI_TOOL_CALL_RESULT,
}
"""A GenAI ``execute_tool`` span records its arguments and result only in ``gen_ai.tool.call.arguments`` /
``.result``, which no input/output vocabulary names: a trajectory span falls back to them."""


def resolve_field(field: str, attributes: Mapping[str, Any], events: Iterable[SpanEvent]) -> Any:
    """``field`` from the first vocabulary the span carries it in, or ``None``."""
    event_list = events if isinstance(events, list | tuple) else list(events)
    for source in FIELD_SOURCES.get(field, ()):
        value = source.read(attributes, event_list)
        if value is not None and value != "":
            return value
    return None


def trajectory_span_content(attributes: Mapping[str, Any], events: Iterable[SpanEvent]) -> tuple[Any, Any]:
    """A trajectory span's ``(inputs, output)`` as recorded (JSON text not yet decoded): the span's
    vocabulary, else the GenAI tool-call arguments and result; ``None`` where it has neither."""
    event_list = events if isinstance(events, list | tuple) else list(events)
    found = []
    for field, fallback in _TOOL_CALL_FALLBACK.items():
        value = resolve_field(field, attributes, event_list)
        found.append(attributes.get(fallback) if value is None else value)
    return found[0], found[1]


def trajectory_span_role(attributes: Mapping[str, Any]) -> str:
    """A trajectory span's role, lower case, from the first of :data:`ROLE_KEYS` it carries (``span``:
    none)."""
    return next((str(attributes[key]) for key in ROLE_KEYS if attributes.get(key)), "span").lower()
