"""A :class:`~judgeval.data.trace.TraceSpan` from a finished span of this process's SDK.

What a ``server_hosted=False`` trace scorer sees must mean what the evaluator's trajectories mean, so
``inputs``/``output`` and the span's role (``span_kind``) come from the lookup the evaluator uses
(:mod:`judgeval.protocol.span_content`: current and older indexed GenAI messages, OpenInference's,
OpenLLMetry's, Judgment's and judgeval's own attributes and events, the first one present wins, else the
GenAI tool-call arguments and result; the role from judgeval's span type, then Judgment's span kind, the
GenAI operation, the OpenInference and OpenLLMetry kinds). JSON text is decoded where it is JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from judgeval import semconv
from judgeval.data.trace import SpanEvent, TraceSpan, decoded_value
from judgeval.protocol.span_content import trajectory_span_content, trajectory_span_role


def json_safe(value: Any) -> Any:
    """An attribute value as plain JSON data (sequences become lists)."""
    if isinstance(value, tuple | list):
        return [json_safe(item) for item in value]
    return value


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
    span_attributes = {key: json_safe(value) for key, value in attributes.items()}
    events = [
        SpanEvent(e.name, e.timestamp or 0, {k: json_safe(v) for k, v in (e.attributes or {}).items()})
        for e in span.events
    ]
    inputs, output = trajectory_span_content(span_attributes, [(e.name, e.attributes) for e in events])
    return TraceSpan(
        span_id=format(context.span_id, "016x") if context else "",
        trace_id=format(context.trace_id, "032x") if context else "",
        span_name=span.name,
        parent_span_id=format(parent, "016x") if parent else None,
        span_kind=trajectory_span_role(span_attributes),
        otel_kind=span.kind.name.lower(),
        service_name=str(resource.get(SERVICE_NAME, "")),
        start_time_unix_nano=span.start_time or 0,
        end_time_unix_nano=span.end_time or 0,
        span_attributes=span_attributes,
        resource_attributes={key: json_safe(value) for key, value in resource.items()},
        inputs=decoded_value(inputs),
        output=decoded_value(output),
        error=_error(span),
        agent_id=str(agent_id) if agent_id is not None else None,
        agent_name=str(agent_name) if agent_name is not None else None,
        events=tuple(events),
    )
