"""Feed copies: the spans the collector's trajectory feed sends, read into what the buffer stores.

A feed export is an ordinary OTLP ``ExportTraceServiceRequest`` marked by the
:data:`~judgeval.semconv.TRAJECTORY_FEED_HEADER` header. Its spans are copies (the collector sends the
originals on their normal routes), so the evaluator buffers them and never forwards them. Per span this
module keeps its ids, the raw ``judgeval.trajectory.requests`` value of a bounding span, and the session id
(the first of ``SESSION_ID_KEYS`` on the span, else on its resource) a session-scoped request groups by.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace

from judgeval import semconv
from judgeval.protocol.otlp_values import attributes_dict, find_attribute
from judgeval.protocol.trajectory_request import (
    InvalidTrajectoryRequest,
    decode_trajectory_requests,
    encode_trajectory_request,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.trajectories.rules import TrajectoryRules


@dataclass(frozen=True, slots=True)
class FeedSpan:
    """One feed copy: ids, what a bounding span requests, the session it names, and the serialized data."""

    trace_id: bytes
    span_id: bytes
    requests: str | None
    """The raw ``judgeval.trajectory.requests`` value (``None``: not a bounding span)."""
    session_id: str | None
    resource: bytes
    scope: bytes
    span: bytes
    idle_s: float | None = None
    """For a span a ``scope: trace`` rule bounds: the trace is complete after this much silence (no explicit
    end marker); ``None``: the bounding span is the end marker (``trajectories.grace_s``)."""
    grace_s: float | None = None
    """For a span a ``scope: trace`` rule with ``grace_s`` bounds: the trace is complete this long after the
    span arrived; ``None``: ``trajectories.grace_s`` (or ``idle_s``, when set)."""

    def requests_of_scope(self, scope: str) -> str | None:
        """The requests of ``scope`` (``trace`` or ``session``) as a JSON array, or ``None`` when there are
        none. A value that does not decode counts as the trace's (the scoring sweep reports why it is
        invalid on a result span, where the user looks)."""
        if self.requests is None:
            return None
        try:
            requests = decode_trajectory_requests(self.requests)
        except InvalidTrajectoryRequest:
            return self.requests if scope == semconv.TrajectoryScope.TRACE else None
        chosen = [encode_trajectory_request(r) for r in requests if r.scope == scope]
        return json.dumps(chosen, separators=(",", ":")) if chosen else None


def is_feed_export(metadata: object) -> bool:
    """Whether gRPC invocation metadata (pairs of key and value) marks a trajectory-feed export."""
    if not metadata:
        return False
    for key, value in metadata:  # type: ignore[attr-defined]
        if key == semconv.TRAJECTORY_FEED_HEADER:
            return (
                value.decode() if isinstance(value, bytes) else str(value)
            ) == semconv.TRAJECTORY_FEED_VALUE
    return False


def feed_spans(
    request: trace_service_pb2.ExportTraceServiceRequest, rules: TrajectoryRules | None = None
) -> tuple[list[FeedSpan], int]:
    """The request's spans as :class:`FeedSpan` copies (a span without requests that a ``scope: trace`` or
    ``scope: session`` rule bounds gets the rule's), and how many were refused for invalid ids."""
    spans: list[FeedSpan] = []
    invalid = 0
    for resource_spans in request.resource_spans:
        resource = ResourceSpans(resource=resource_spans.resource, schema_url=resource_spans.schema_url)
        resource_bytes = resource.SerializeToString()
        resource_attrs = attributes_dict(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope_bytes = ScopeSpans(
                scope=scope_spans.scope, schema_url=scope_spans.schema_url
            ).SerializeToString()
            for span in scope_spans.spans:
                if len(span.trace_id) != 16 or not any(span.trace_id) or len(span.span_id) != 8:
                    invalid += 1
                    continue
                feed_span = _feed_span(span, resource_bytes, scope_bytes, resource_attrs)
                if feed_span.requests is None and rules:
                    bound = rules.bound(span, resource_attrs, scope_spans.scope.name)
                    if bound is not None:
                        feed_span = replace(
                            feed_span,
                            requests=bound.requests,
                            session_id=bound.session_id,
                            idle_s=bound.idle_s,
                            grace_s=bound.grace_s,
                        )
                spans.append(feed_span)
    return spans, invalid


def _feed_span(span: Span, resource: bytes, scope: bytes, resource_attrs: dict[str, object]) -> FeedSpan:
    requests = find_attribute(span.attributes, semconv.JUDGEVAL_TRAJECTORY_REQUESTS)
    session = None
    if requests is not None:
        session = next(_session_ids(span, resource_attrs), None)
    return FeedSpan(
        trace_id=bytes(span.trace_id),
        span_id=bytes(span.span_id),
        requests=None if requests is None else str(requests),
        session_id=session,
        resource=resource,
        scope=scope,
        span=span.SerializeToString(),
    )


def _session_ids(span: Span, resource_attrs: dict[str, object]) -> Iterator[str]:
    for key in semconv.SESSION_ID_KEYS:
        value = find_attribute(span.attributes, key)
        if value is None:
            value = resource_attrs.get(key)
        if value is not None and str(value):
            yield str(value)


_MARK = f"{semconv.TRACESTATE_KEY}={semconv.TRACESTATE_TRAJECTORY}"
_REQUESTS_KEY = semconv.JUDGEVAL_TRAJECTORY_REQUESTS


def is_marked(span: Span) -> bool:
    """Whether ``span`` belongs to a trajectory that asked to be scored: the W3C tracestate member
    ``judgeval=t``, or the requests attribute of the bounding span (what the collector's feed selects)."""
    if span.trace_state and any(m.strip() == _MARK for m in span.trace_state.split(",")):
        return True
    return any(kv.key == _REQUESTS_KEY for kv in span.attributes)


def marked_copies(
    request: trace_service_pb2.ExportTraceServiceRequest, rules: TrajectoryRules | None = None
) -> trace_service_pb2.ExportTraceServiceRequest | None:
    """A copy of the marked spans of an ordinary export, under their resources and scopes (``None``: none),
    for an evaluator that agents export to directly (``trajectories.direct``). With zero-code trajectory
    ``rules``, also every span of a trace one of them samples: which span bounds the trace is known only once
    it arrives (usually last), and the trajectory is the spans around it (what the collector's
    ``JUDGEVAL_TRAJECTORY_CONDITION`` selects behind a collector)."""
    by_rule = rules.samples if rules else None
    copies = trace_service_pb2.ExportTraceServiceRequest()
    for resource_spans in request.resource_spans:
        kept_scopes = []
        for scope_spans in resource_spans.scope_spans:
            marked = [
                span
                for span in scope_spans.spans
                if is_marked(span) or (by_rule is not None and by_rule(span.trace_id))
            ]
            if marked:
                kept_scopes.append(
                    ScopeSpans(scope=scope_spans.scope, schema_url=scope_spans.schema_url, spans=marked)
                )
        if kept_scopes:
            copies.resource_spans.append(
                ResourceSpans(
                    resource=resource_spans.resource,
                    schema_url=resource_spans.schema_url,
                    scope_spans=kept_scopes,
                )
            )
    return copies if copies.resource_spans else None
