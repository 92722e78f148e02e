"""Trajectory results as spans: one ``evaluate <scorer>`` span per result, under the bounding span.

The bounding span has usually been exported already, so the score cannot be written onto it; it goes onto a
new child span instead, carrying the same ``gen_ai.evaluation.result`` event, flat ``judgeval.score.*``
attributes and verdict as a scored span (:func:`evaluator_service.enrichment.enrich_span`), a final
``judgeval.eval.status`` (so no collector route sends it back to the evaluator), the scope, the number of
spans scored, the evaluator (scorer name, version, kind) and a stable result key with a revision: a
re-score (late spans, a resumed session) writes a new span with the same key and the next revision, which
supersedes the older ones. A session's result lives in the trace of its latest bounding span, with a span
link to the bounding (else root) span of every trace of the session and their ids in
``judgeval.trajectory.trace_ids``. The span is placed under the bounding span's resource, so it shows under
the agent's service, and carries the trajectory's agent as ``gen_ai.agent.name`` (see
:func:`trajectory_agents`), so score metrics, alerts, the console and behaviors see whose run it was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.data.trace import Trace, TraceSpan
from judgeval.protocol.trajectory_request import TrajectoryRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span

from evaluator_service.enrichment import enrich_span
from evaluator_service.scoring.contract import ScoreResult

RESULT_INSTRUMENTATION_SCOPE = InstrumentationScope(name="judgeval.evaluator.trajectories")
"""The instrumentation scope of trajectory result spans and of their log records."""
RESULT_SCOPE = ScopeSpans(
    scope=RESULT_INSTRUMENTATION_SCOPE
).SerializeToString()
"""The instrumentation scope of result spans (serialized envelope, as the queue stores it)."""


@dataclass(frozen=True, slots=True)
class ResultTarget:
    """Where a trajectory's results go: the trace and parent span, links, and what the scorer saw."""

    scope: str
    trace_id: bytes
    parent_span_id: bytes
    key_base: str
    span_count: int
    links: Sequence[tuple[bytes, bytes]] = ()
    session_id: str | None = None
    truncated: int = 0
    agents: tuple[str, ...] = ()
    """The trajectory's agents (:func:`trajectory_agents`); the first is the result span's agent."""


def trajectory_agents(trace: Trace) -> tuple[str, ...]:
    """The agents a trajectory's result is about: for a trace, its bounding span's agent (else the agents
    of the spans below it); for a session, every agent seen across its traces, the latest bounding span's
    first. Agent names (``gen_ai.agent.name``), else ids, in start order, without repeats."""
    def agent(span: TraceSpan) -> str:
        return str(span.agent_name or span.agent_id or "")

    bounding = trace.bounding_span
    first = agent(bounding) if bounding is not None else ""
    if first and trace.scope != semconv.TrajectoryScope.SESSION:
        return (first,)
    seen = [first, *(agent(s) for s in trace.trace_spans)]
    return tuple(dict.fromkeys(a for a in seen if a))


def result_key(target: ResultTarget, scorer_name: str) -> str:
    """The stable key a result (and every re-score of it) carries."""
    return f"{target.key_base}:{scorer_name}"


def result_span(
    target: ResultTarget,
    request: TrajectoryRequest | None,
    result: ScoreResult,
    revision: int,
    evaluator_id: str = "",
) -> Span:
    """One result as an ``evaluate <scorer>`` span (final status, event, flat attributes)."""
    now = time.time_ns()
    span = Span(
        trace_id=target.trace_id,
        span_id=_span_id(),
        parent_span_id=target.parent_span_id,
        name=f"evaluate {result.scorer_name}",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=now,
        end_time_unix_nano=now,
    )
    for trace_id, span_id in target.links:
        span.links.add(trace_id=trace_id, span_id=span_id)
    extra: dict[str, Any] = {
        semconv.JUDGEVAL_SPAN_TYPE: semconv.SpanType.EVALUATION.value,
        semconv.JUDGEVAL_TRAJECTORY_SCOPE: target.scope,
        semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT: target.span_count,
        semconv.JUDGEVAL_TRAJECTORY_RESULT_KEY: result_key(target, result.scorer_name),
        semconv.JUDGEVAL_TRAJECTORY_REVISION: revision,
        semconv.JUDGEVAL_EVALUATOR_NAME: result.scorer_name,
        semconv.JUDGEVAL_EVALUATOR_KIND: "server_hosted",
    }
    if request is not None and request.scorer.version is not None:
        extra[semconv.JUDGEVAL_EVALUATOR_VERSION] = request.scorer.version
    if target.scope == semconv.TrajectoryScope.SESSION:
        extra[semconv.JUDGEVAL_TRAJECTORY_TRACE_IDS] = [t.hex() for t, _ in target.links]
        if target.session_id is not None:
            extra[semconv.JUDGEVAL_TRAJECTORY_SESSION_ID] = target.session_id
    if target.truncated:
        extra[semconv.JUDGEVAL_TRAJECTORY_TRUNCATED_SPANS] = target.truncated
    if evaluator_id:
        extra[semconv.JUDGEVAL_EVAL_EVALUATOR] = evaluator_id
    if target.agents:
        extra[semconv.GEN_AI_AGENT_NAME] = target.agents[0]
    enrich_span(span, [result], extra)
    return span


def _span_id() -> bytes:
    while True:
        span_id = os.urandom(8)
        if any(span_id):
            return span_id
