"""Spans read back from a trace backend, as OTLP protobuf with their resource and instrumentation scope.

A backend reader (Jaeger's query API today, Tempo's later) answers with :class:`StoredTrace` records, whose
:class:`StoredSpan` s are what the evaluator scores: the same ``Span`` message the OTLP receiver gets, so the
span vocabularies, rules and enrichment read them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from judgeval import semconv
from judgeval.protocol.otlp_values import attributes_dict
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span


@dataclass(frozen=True, eq=False)
class StoredSpan:
    """One span as the backend stored it: the OTLP span, its resource and its instrumentation scope."""

    span: Span
    resource: Resource
    scope: InstrumentationScope

    @property
    def trace_id(self) -> str:
        """The trace id in lower-case hex (32 digits)."""
        return self.span.trace_id.hex()

    @property
    def span_id(self) -> str:
        """The span id in lower-case hex (16 digits)."""
        return self.span.span_id.hex()

    @property
    def parent_span_id(self) -> str:
        """The parent's span id in hex; ``""`` for a root span."""
        return self.span.parent_span_id.hex()

    @property
    def name(self) -> str:
        return self.span.name

    @cached_property
    def attributes(self) -> dict[str, Any]:
        """The span's attributes as plain Python values."""
        return attributes_dict(self.span.attributes)

    @cached_property
    def resource_attributes(self) -> dict[str, Any]:
        """The resource's attributes as plain Python values."""
        return attributes_dict(self.resource.attributes)

    @property
    def service_name(self) -> str:
        return str(self.resource_attributes.get(semconv.SERVICE_NAME, ""))

    def resource_envelope(self) -> bytes:
        """The resource as the span queue stores it: a serialized ``ResourceSpans`` holding no spans."""
        return ResourceSpans(resource=self.resource).SerializeToString()


@dataclass(frozen=True)
class StoredTrace:
    """One trace as the backend returned it (all the spans it holds), with the backend's warnings."""

    trace_id: str
    spans: tuple[StoredSpan, ...]
    warnings: tuple[str, ...] = ()

    def span(self, span_id: str) -> StoredSpan | None:
        """The span with this hex id, if the trace holds it."""
        return next((s for s in self.spans if s.span_id == span_id), None)

    def children(self, span_id: str) -> list[StoredSpan]:
        """The spans whose parent is ``span_id``."""
        return [s for s in self.spans if s.parent_span_id == span_id]
