"""A :class:`~judgeval.data.trace.TraceSpan` from a finished span of this process's SDK.

What a ``server_hosted=False`` trace scorer sees must mean what the evaluator's trajectories mean, so the
fields come from the same vocabularies in the evaluator's order of preference: inputs/outputs from GenAI's
messages, OpenInference's, OpenLLMetry's, Judgment's and judgeval's own ``judgeval.input``/``output``
attributes (the first one present wins); the span's role (``span_kind``) from judgeval's span type, then
Judgment's span kind, the GenAI operation, the OpenInference and OpenLLMetry kinds. JSON text is decoded
where it is JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from judgeval import semconv
from judgeval.data.trace import SpanEvent, TraceSpan, decoded_value

# The evaluator's order (evaluator_service.span_vocabularies, trajectories.trace_view), so a span means the
# same to a local and a hosted trace scorer; the GenAI tool-call attributes come last, for tool spans that
# carry nothing else.
_INPUT_KEYS = (
    semconv.GEN_AI_INPUT_MESSAGES,
    semconv.GEN_AI_PROMPT,
    semconv.OPENINFERENCE_INPUT_VALUE,
    semconv.TRACELOOP_ENTITY_INPUT,
    semconv.JUDGMENT_INPUT,
    semconv.JUDGEVAL_INPUT,
    semconv.GEN_AI_TOOL_CALL_ARGUMENTS,
)
_OUTPUT_KEYS = (
    semconv.GEN_AI_OUTPUT_MESSAGES,
    semconv.GEN_AI_COMPLETION,
    semconv.OPENINFERENCE_OUTPUT_VALUE,
    semconv.TRACELOOP_ENTITY_OUTPUT,
    semconv.JUDGMENT_OUTPUT,
    semconv.JUDGEVAL_OUTPUT,
    semconv.GEN_AI_TOOL_CALL_RESULT,
)
_KIND_KEYS = (
    semconv.JUDGEVAL_SPAN_TYPE,
    semconv.JUDGMENT_SPAN_KIND,
    semconv.GEN_AI_OPERATION_NAME,
    semconv.OPENINFERENCE_SPAN_KIND,
    semconv.TRACELOOP_SPAN_KIND,
)


def json_safe(value: Any) -> Any:
    """An attribute value as plain JSON data (sequences become lists)."""
    if isinstance(value, tuple | list):
        return [json_safe(item) for item in value]
    return value


def _first(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            decoded = decoded_value(value)
            return decoded if decoded is not value else json_safe(value)
    return None


def _span_kind(attributes: Mapping[str, Any]) -> str:
    for key in _KIND_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value.lower()
    return "span"


def _error(span: ReadableSpan) -> str | None:
    if span.status.status_code is not StatusCode.ERROR:
        return None
    if span.status.description:
        return span.status.description
    for event in span.events:
        if event.name == "exception" and event.attributes:
            return str(event.attributes.get("exception.message", ""))
    return "error"


def trace_span(span: ReadableSpan) -> TraceSpan:
    """The :class:`TraceSpan` a trace scorer sees for ``span`` (a finished span of this process)."""
    context = span.get_span_context()
    attributes: Mapping[str, Any] = span.attributes or {}
    resource = dict(span.resource.attributes) if span.resource is not None else {}
    parent = span.parent.span_id if span.parent is not None else 0
    agent_id, agent_name = attributes.get(semconv.GEN_AI_AGENT_ID), attributes.get(semconv.GEN_AI_AGENT_NAME)
    return TraceSpan(
        span_id=format(context.span_id, "016x") if context else "",
        trace_id=format(context.trace_id, "032x") if context else "",
        span_name=span.name,
        parent_span_id=format(parent, "016x") if parent else None,
        span_kind=_span_kind(attributes),
        otel_kind=span.kind.name.lower(),
        service_name=str(resource.get(SERVICE_NAME, "")),
        start_time_unix_nano=span.start_time or 0,
        end_time_unix_nano=span.end_time or 0,
        span_attributes={key: json_safe(value) for key, value in attributes.items()},
        resource_attributes={key: json_safe(value) for key, value in resource.items()},
        inputs=_first(attributes, _INPUT_KEYS),
        output=_first(attributes, _OUTPUT_KEYS),
        error=_error(span),
        agent_id=str(agent_id) if agent_id is not None else None,
        agent_name=str(agent_name) if agent_name is not None else None,
        events=tuple(
            SpanEvent(e.name, e.timestamp or 0, {k: json_safe(v) for k, v in (e.attributes or {}).items()})
            for e in span.events
        ),
    )
