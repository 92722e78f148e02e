"""``Trace``: a whole trajectory (or session) as a trace scorer sees it, and helpers to walk it.

A :class:`~judgeval.scorers.trace_scorer.TraceScorer` receives one :class:`Trace`: ``trace.trace_spans`` is
the list of :class:`TraceSpan` in start order. The same model is built in three places and must mean the
same thing in each: the SDK builds it from its own finished spans (``server_hosted=False`` scorers), the
evaluator from OTLP spans (built-in and uploaded trace scorers), and the sandbox worker from the JSON form
(:meth:`Trace.to_json_data` / :meth:`Trace.from_json_data`), which is how a trace crosses a process boundary.

``inputs`` and ``output`` are what the span's instrumentation recorded as its input and output (the judgeval
SDK's captured arguments and return value, or a GenAI / OpenInference / OpenLLMetry span's prompt and
completion), already decoded from JSON where they were JSON; ``None`` when the span recorded none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from judgeval import semconv

LLM_SPAN_KINDS = frozenset({"llm", "chat", "text_completion", "generate_content", "embeddings"})
"""``span_kind`` values (judgeval's ``span_type``, the GenAI operation or the OpenInference kind, lower
case) that mark an LLM call."""
TOOL_SPAN_KINDS = frozenset({"tool", "execute_tool"})
"""``span_kind`` values that mark a tool call."""
AGENT_SPAN_KINDS = frozenset({"agent", "invoke_agent", "create_agent"})
"""``span_kind`` values that mark an agent's own span."""


def decoded_value(value: Any) -> Any:
    """A recorded input or output as :class:`TraceSpan` holds it: JSON text (an object, array or string, as
    instrumentations record arguments and return values) decoded, anything else as it is."""
    if isinstance(value, str) and value[:1] in ("{", "[", '"'):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """One span event (exceptions, ``gen_ai.evaluation.result``, ...): name, time (Unix ns), attributes."""

    name: str
    time_unix_nano: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TraceSpan:
    """One span of a trajectory, with the fields trace scorers read.

    ``span_kind`` is the span's *role* in the agent (see :data:`LLM_SPAN_KINDS`, :data:`TOOL_SPAN_KINDS`,
    :data:`AGENT_SPAN_KINDS`; otherwise e.g. ``function``, ``span``), not the OTel ``SpanKind``, which is in
    ``otel_kind`` (``internal``, ``client``, ...). ``duration`` is in seconds; ``error`` is the span's error
    description (status message or exception) when its status is an error, else ``None``.
    """

    span_id: str
    trace_id: str
    span_name: str
    parent_span_id: str | None = None
    span_kind: str = "span"
    otel_kind: str = "internal"
    service_name: str = ""
    start_time_unix_nano: int = 0
    end_time_unix_nano: int = 0
    span_attributes: dict[str, Any] = field(default_factory=dict)
    resource_attributes: dict[str, Any] = field(default_factory=dict)
    inputs: Any = None
    output: Any = None
    error: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    events: tuple[SpanEvent, ...] = ()

    @property
    def duration(self) -> float:
        """Seconds from start to end (0.0 when either is unknown)."""
        if not self.start_time_unix_nano or self.end_time_unix_nano < self.start_time_unix_nano:
            return 0.0
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e9

    @property
    def is_llm_call(self) -> bool:
        """The span is an LLM call (chat, completion, embeddings)."""
        return self.span_kind in LLM_SPAN_KINDS

    @property
    def is_tool_call(self) -> bool:
        """The span is a tool call."""
        return self.span_kind in TOOL_SPAN_KINDS

    def to_json_data(self) -> dict[str, Any]:
        """Plain JSON data for this span (see :meth:`Trace.to_json_data`)."""
        data = {name: getattr(self, name) for name in _SCALAR_FIELDS}
        data["events"] = [
            {"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": e.attributes}
            for e in self.events
        ]
        return data

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> TraceSpan:
        """The inverse of :meth:`to_json_data`; unknown keys are ignored, missing ones take defaults."""
        kwargs = {name: data[name] for name in _SCALAR_FIELDS if name in data}
        events = tuple(
            SpanEvent(
                str(e.get("name", "")), int(e.get("time_unix_nano", 0)), dict(e.get("attributes") or {})
            )
            for e in data.get("events") or ()
        )
        return cls(**kwargs, events=events)


_SCALAR_FIELDS = tuple(name for name in TraceSpan.__dataclass_fields__ if name != "events")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call found in a trajectory: the tool's name, its arguments and result, and the span."""

    name: str
    arguments: Any
    result: Any
    error: str | None
    span: TraceSpan


@dataclass(frozen=True, slots=True)
class Trace:
    """A trajectory: its spans in start order, the trace(s) it covers and how it is bounded.

    ``scope`` is ``"trace"`` (a trace, or the subtree of the span that requested the score, whose id is
    ``bounding_span_id``) or ``"session"`` (every span of the traces sharing ``session_id``, over one or more
    ``trace_ids``).
    """

    trace_spans: tuple[TraceSpan, ...]
    trace_ids: tuple[str, ...] = ()
    scope: str = "trace"
    bounding_span_id: str | None = None
    session_id: str | None = None

    @classmethod
    def of(cls, spans: list[TraceSpan] | tuple[TraceSpan, ...], **kwargs: Any) -> Trace:
        """A trace of ``spans``, sorted into start order (ties keep their given order); ``trace_ids``
        defaults to the spans' own trace ids in order of first appearance."""
        ordered = tuple(sorted(spans, key=lambda s: s.start_time_unix_nano))
        kwargs.setdefault("trace_ids", tuple(dict.fromkeys(s.trace_id for s in ordered)))
        return cls(trace_spans=ordered, **kwargs)

    @property
    def bounding_span(self) -> TraceSpan | None:
        """The span that bounds the trajectory (``None`` for a session or an unbounded trace)."""
        return self.span(self.bounding_span_id) if self.bounding_span_id else None

    def span(self, span_id: str) -> TraceSpan | None:
        """The span with this hex id, or ``None``."""
        return next((s for s in self.trace_spans if s.span_id == span_id), None)

    def root_spans(self) -> list[TraceSpan]:
        """Spans whose parent is not in this trajectory, in start order."""
        ids = {s.span_id for s in self.trace_spans}
        return [s for s in self.trace_spans if s.parent_span_id not in ids]

    def children(self, span: TraceSpan | str) -> list[TraceSpan]:
        """Direct children of ``span`` (a span or its hex id), in start order."""
        parent_id = span if isinstance(span, str) else span.span_id
        return [s for s in self.trace_spans if s.parent_span_id == parent_id]

    def descendants(self, span: TraceSpan | str) -> Iterator[TraceSpan]:
        """Every span below ``span``, depth first, children in start order."""
        for child in self.children(span):
            yield child
            yield from self.descendants(child)

    def llm_calls(self) -> list[TraceSpan]:
        """LLM call spans, in start order."""
        return [s for s in self.trace_spans if s.is_llm_call]

    def tool_calls(self) -> list[ToolCall]:
        """Tool calls with their arguments and results, in start order."""
        return [
            ToolCall(name=_tool_name(s), arguments=s.inputs, result=s.output, error=s.error, span=s)
            for s in self.trace_spans
            if s.is_tool_call
        ]

    def agents(self) -> dict[str, list[TraceSpan]]:
        """Spans grouped by the agent they ran in (agent id, else name; spans of no agent are left out)."""
        grouped: dict[str, list[TraceSpan]] = {}
        for s in self.trace_spans:
            key = s.agent_id or s.agent_name
            if key:
                grouped.setdefault(key, []).append(s)
        return grouped

    def to_json_data(self) -> dict[str, Any]:
        """Plain JSON data (attribute values must already be JSON-safe: str, bool, int, float, lists,
        dicts, ``None``), the form a trace crosses a process boundary in."""
        return {
            "trace_spans": [s.to_json_data() for s in self.trace_spans],
            "trace_ids": list(self.trace_ids),
            "scope": self.scope,
            "bounding_span_id": self.bounding_span_id,
            "session_id": self.session_id,
        }

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Trace:
        """The inverse of :meth:`to_json_data`."""
        return cls(
            trace_spans=tuple(TraceSpan.from_json_data(s) for s in data.get("trace_spans") or ()),
            trace_ids=tuple(data.get("trace_ids") or ()),
            scope=str(data.get("scope") or "trace"),
            bounding_span_id=data.get("bounding_span_id"),
            session_id=data.get("session_id"),
        )


def _tool_name(span: TraceSpan) -> str:
    attributes = span.span_attributes
    name = attributes.get(semconv.GEN_AI_TOOL_NAME) or attributes.get(semconv.OPENINFERENCE_TOOL_NAME)
    return str(name) if name else span.span_name
