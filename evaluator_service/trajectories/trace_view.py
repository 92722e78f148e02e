"""Buffered OTLP spans as the :class:`~judgeval.data.trace.Trace` a trajectory scorer reads.

The evaluator's side of the model the SDK builds from its own spans, through the lookup the SDK's local trace
scorers use (:mod:`judgeval.protocol.span_content`): ``span_kind`` is the span's role (the judgeval span
type, else the GenAI operation, the OpenInference or OpenLLMetry kind, lower case), ``inputs`` and
``output`` come from whichever vocabulary the span carries, decoded from JSON where they are JSON. A trace
trajectory bounded by a span is that span's subtree; a session is every buffered span of its traces.
Spans are ordered by start time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from judgeval import semconv
from judgeval.data.trace import SpanEvent, Trace, TraceSpan, decoded_value
from judgeval.protocol.otlp_values import attributes_dict
from judgeval.protocol.span_content import trajectory_span_content, trajectory_span_role
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from evaluator_service.trajectories.buffer import BufferedSpan

_OTEL_KINDS = {0: "internal", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def trace_of(
    buffered: Iterable[BufferedSpan],
    *,
    scope: str,
    bounding_span_id: bytes | None,
    trace_ids: Sequence[bytes],
    session_id: str | None = None,
) -> tuple[Trace, list[Span]]:
    """The trajectory's :class:`Trace` and the OTLP spans it holds (bounding span's subtree for a trace)."""
    resources: dict[bytes, dict[str, Any]] = {}
    pairs: list[tuple[Span, dict[str, Any]]] = []
    seen: set[bytes] = set()
    for item in buffered:
        span = Span.FromString(item.span)
        if span.span_id in seen:  # the same copy twice (a collector retry): keep one
            continue
        seen.add(span.span_id)
        if item.resource not in resources:
            resources[item.resource] = attributes_dict(
                ResourceSpans.FromString(item.resource).resource.attributes
            )
        pairs.append((span, resources[item.resource]))
    if scope == semconv.TrajectoryScope.TRACE and bounding_span_id is not None:
        pairs = _subtree(pairs, bounding_span_id)
    pairs.sort(key=lambda pair: (pair[0].start_time_unix_nano, pair[0].span_id))
    spans = [_trace_span(span, resource) for span, resource in pairs]
    trace = Trace.of(
        spans,
        trace_ids=tuple(t.hex() for t in trace_ids),
        scope=scope,
        bounding_span_id=bounding_span_id.hex() if bounding_span_id else None,
        session_id=session_id,
    )
    return trace, [span for span, _ in pairs]


def _subtree(pairs: list[tuple[Span, dict[str, Any]]], root: bytes) -> list[tuple[Span, dict[str, Any]]]:
    children: dict[bytes, list[bytes]] = {}
    for span, _ in pairs:
        children.setdefault(bytes(span.parent_span_id), []).append(bytes(span.span_id))
    keep, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in keep:
                keep.add(child)
                todo.append(child)
    return [pair for pair in pairs if bytes(pair[0].span_id) in keep]


def _trace_span(span: Span, resource: dict[str, Any]) -> TraceSpan:
    attributes = attributes_dict(span.attributes)
    events = [(e.name, attributes_dict(e.attributes)) for e in span.events]
    error = None
    if span.status.code == 2:
        error = span.status.message or next(
            (str(a.get("exception.message", "")) for name, a in events if name == "exception"), "error"
        )
    agent_id = attributes.get(semconv.GEN_AI_AGENT_ID)
    agent_name = attributes.get(semconv.GEN_AI_AGENT_NAME)
    inputs, output = trajectory_span_content(attributes, events)
    return TraceSpan(
        span_id=span.span_id.hex(),
        trace_id=span.trace_id.hex(),
        span_name=span.name,
        parent_span_id=span.parent_span_id.hex() or None,
        span_kind=trajectory_span_role(attributes),
        otel_kind=_OTEL_KINDS.get(span.kind, "internal"),
        service_name=str(resource.get(semconv.SERVICE_NAME, "")),
        start_time_unix_nano=span.start_time_unix_nano,
        end_time_unix_nano=span.end_time_unix_nano,
        span_attributes=attributes,
        resource_attributes=resource,
        inputs=decoded_value(inputs),
        output=decoded_value(output),
        error=error,
        agent_id=str(agent_id) if agent_id is not None else None,
        agent_name=str(agent_name) if agent_name is not None else None,
        events=tuple(
            SpanEvent(name, e.time_unix_nano, attrs)
            for (name, attrs), e in zip(events, span.events, strict=True)
        ),
    )

