"""Example fields from whichever attribute vocabulary a span carries: no per-rule mapping needed.

Where each vocabulary (current and older GenAI, OpenLLMetry, OpenInference, Judgment's, ours) keeps a span's
input and output is :mod:`judgeval.protocol.span_content`, the lookup the SDK's local trace scorers use too.
This module applies it to a rule request: :func:`with_span_examples` is the dispatcher's step that fills a
rule request's ``example_from`` reference in from the span it scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from judgeval.protocol.evaluation_request import FROM_VOCABULARY, EvaluationRequest
from judgeval.protocol.otlp_values import attributes_dict
from judgeval.protocol.span_content import SpanEvent, resolve_field
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span


def resolve_example(
    example_from: Mapping[str, str],
    attributes: Mapping[str, Any],
    events: Callable[[], list[SpanEvent]],
    resource: Callable[[], Mapping[str, Any]],
) -> dict[str, Any]:
    """The example fields a request reads from its span: each from its attribute key (the span's, else its
    resource's), or, for :data:`~judgeval.protocol.evaluation_request.FROM_VOCABULARY`, from the span's
    vocabulary. Fields the span lacks are left out (the scorer then says which one it needed). ``events``
    and ``resource`` are called only if a field needs them."""
    example: dict[str, Any] = {}
    for name, source in example_from.items():
        if source == FROM_VOCABULARY:
            value = resolve_field(name, attributes, events())
        else:
            value = attributes.get(source)
            if value is None:
                value = resource().get(source)
        if value is not None:
            example[name] = value
    return example


def with_span_examples(
    requests: list[EvaluationRequest], span: Span, fields: Mapping[str, Any], resource: bytes
) -> list[EvaluationRequest]:
    """Requests whose ``example_from`` is filled in from ``span`` (a rule's reference to the span's own
    content); the request's own ``example`` wins per field."""
    events: list[SpanEvent] | None = None
    resource_attributes: dict[str, Any] | None = None

    def load_events() -> list[SpanEvent]:
        nonlocal events
        if events is None:
            events = [(event.name, attributes_dict(event.attributes)) for event in span.events]
        return events

    def load_resource() -> dict[str, Any]:
        nonlocal resource_attributes
        if resource_attributes is None:
            envelope = ResourceSpans.FromString(resource) if resource else ResourceSpans()
            resource_attributes = attributes_dict(envelope.resource.attributes)
        return resource_attributes

    def filled(request: EvaluationRequest) -> EvaluationRequest:
        if not request.example_from:
            return request
        example = resolve_example(request.example_from, fields, load_events, load_resource)
        return replace(request, example={**example, **request.example})

    return [filled(r) for r in requests]
