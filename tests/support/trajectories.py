"""Trajectory test helpers: a real trajectory scorer, agent runs as OTLP spans, feed exports, a clock.

:class:`ToolLoopScorer` implements the evaluator's ``TrajectoryScorer`` protocol the way a built-in would:
it finds the most repeated identical tool call (same tool, same arguments) and scores 0 with a reason naming
the tool and the count when it reaches ``max_repeats`` (request config, default 3), else 1.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from judgeval import semconv
from judgeval.data.trace import Trace
from judgeval.protocol.evaluation_request import ScorerRef
from judgeval.protocol.otlp_values import to_any_value
from judgeval.protocol.trajectory_request import TrajectoryRequest, encode_trajectory_requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.app import EvaluatorApp
from evaluator_service.scoring.contract import ScoreOutcome, TrajectoryScorer, TransientScorerError
from tests.support.spans import make_request

TRACESTATE = f"{semconv.TRACESTATE_KEY}={semconv.TRACESTATE_TRAJECTORY}"
"""The W3C tracestate the SDK puts on every span of a trajectory that asked to be scored."""
FEED_METADATA = ((semconv.TRAJECTORY_FEED_HEADER, semconv.TRAJECTORY_FEED_VALUE),)
"""The header the collector's trajectory-feed exporter sets."""
LOOP_SCORER = "loop_probe"  # not a built-in trajectory type: the test scorer must be the one resolved

_span_ids = itertools.count(1 << 40)


class ToolLoopScorer:
    """Scores a trajectory 0 when one tool is called with the same arguments ``max_repeats`` times."""

    name = LOOP_SCORER

    def __init__(self) -> None:
        self.seen: list[Trace] = []

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        self.seen.append(trajectory)
        limit = int(request.scorer.config.get("max_repeats", 3))
        counts: dict[tuple[str, str], int] = {}
        for call in trajectory.tool_calls():
            key = (call.name, json.dumps(call.arguments, sort_keys=True, default=str))
            counts[key] = counts.get(key, 0) + 1
        if not counts:
            return ScoreOutcome(1.0, "no tool calls")
        (tool, _), most = max(counts.items(), key=lambda item: item[1])
        if most >= limit:
            return ScoreOutcome(0.0, f"tool {tool!r} called {most} times with the same arguments")
        return ScoreOutcome(1.0, f"no tool repeated {limit} times (most: {tool!r} {most}x)")


class FlakyScorer:
    """Fails transiently ``failures`` times, then scores 1 (the runner must retry it)."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientScorerError("judge answered 503")
        return ScoreOutcome(1.0, "ok")


class HangingScorer:
    """Never answers (a judge that hangs): the runner's timeout must end it."""

    name = "hanging"

    def __init__(self) -> None:
        self.calls = 0

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        self.calls += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@dataclass
class ScorerShelf:
    """A ``TrajectoryScorerSource`` over the given scorers, by name."""

    scorers: dict[str, TrajectoryScorer] = field(default_factory=dict)

    def resolve(self, ref: ScorerRef) -> TrajectoryScorer | None:
        return self.scorers.get(ref.name)


@dataclass
class ManualClock:
    """Wall-clock seconds that move only when the test says so."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def requests_value(
    *scopes: str, scorer: str = LOOP_SCORER, config: dict[str, Any] | None = None, rate: float = 1.0
) -> str:
    """A ``judgeval.trajectory.requests`` value asking ``scorer`` for each scope."""
    return encode_trajectory_requests(
        [
            TrajectoryRequest(ScorerRef(name=scorer, config=config or {}), scope=scope, sampling_rate=rate)
            for scope in scopes
        ]
    )


def span(
    name: str,
    trace_id: bytes,
    parent: Span | None = None,
    attributes: dict[str, Any] | None = None,
    start: int = 0,
) -> Span:
    """A finished span of ``trace_id`` carrying the trajectory tracestate."""
    span_id = next(_span_ids).to_bytes(8, "big")
    result = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent.span_id if parent else b"",
        name=name,
        trace_state=TRACESTATE,
        start_time_unix_nano=1_700_000_000_000_000_000 + start,
        end_time_unix_nano=1_700_000_000_500_000_000 + start,
    )
    for key, value in (attributes or {}).items():
        kv = result.attributes.add()
        kv.key = key
        kv.value.CopyFrom(to_any_value(value))
    return result


def tool_call(trace_id: bytes, parent: Span, tool: str, arguments: dict[str, Any], start: int) -> Span:
    return span(
        f"execute_tool {tool}",
        trace_id,
        parent,
        {
            semconv.GEN_AI_OPERATION_NAME: "execute_tool",
            semconv.GEN_AI_TOOL_NAME: tool,
            semconv.JUDGEVAL_INPUT: json.dumps(arguments),
        },
        start,
    )


def new_trace_id() -> bytes:
    """A random trace id whose low 56 bits are sampled at any rate above 0 (OpenTelemetry's rule)."""
    return os.urandom(8) + b"\xff" * 8


@dataclass(frozen=True)
class AgentRun:
    """One agent run as OTLP spans: the bounding span (requests attribute) and the spans below it."""

    trace_id: bytes
    bounding: Span
    children: list[Span]

    @property
    def spans(self) -> list[Span]:
        return [*self.children, self.bounding]  # children end (and are exported) first


def agent_run(
    tools: list[tuple[str, dict[str, Any]]],
    requests: str | None = None,
    trace_id: bytes | None = None,
    session: str | None = None,
    agent: str | None = None,
) -> AgentRun:
    trace_id = trace_id or new_trace_id()
    attributes: dict[str, Any] = {semconv.JUDGEVAL_SPAN_TYPE: "agent"}
    if agent is not None:
        attributes[semconv.GEN_AI_AGENT_NAME] = agent
    if requests is not None:
        attributes[semconv.JUDGEVAL_TRAJECTORY_REQUESTS] = requests
    if session is not None:
        attributes[semconv.GEN_AI_CONVERSATION_ID] = session
    bounding = span("agent run", trace_id, None, attributes)
    llm = span("chat gpt-4.1", trace_id, bounding, {semconv.GEN_AI_OPERATION_NAME: "chat"}, 10)
    calls = [tool_call(trace_id, bounding, tool, args, 100 * (i + 1)) for i, (tool, args) in enumerate(tools)]
    return AgentRun(trace_id, bounding, [llm, *calls])


def looping_run(times: int = 4, **kwargs: Any) -> AgentRun:
    return agent_run([("search_web", {"q": "weather in Paris"})] * times, **kwargs)


def clean_run(**kwargs: Any) -> AgentRun:
    return agent_run(
        [("search_web", {"q": "weather in Paris"}), ("get_forecast", {"city": "Paris"})], **kwargs
    )


def zero_code(run: AgentRun, **root_attributes: Any) -> list[Span]:
    """The run's spans as an app without the SDK sends them: no tracestate, no requests attribute."""
    spans = run.spans
    for span in spans:
        span.ClearField("trace_state")
    root = run.bounding
    keep = [kv for kv in root.attributes if kv.key != semconv.JUDGEVAL_TRAJECTORY_REQUESTS]
    del root.attributes[:]
    root.attributes.extend(keep)
    for key, value in root_attributes.items():
        kv = root.attributes.add()
        kv.key = key
        kv.value.string_value = value
    return spans


async def export_feed(
    app: EvaluatorApp, spans: list[Span], service: str = "agent"
) -> trace_service_pb2.ExportTraceServiceResponse:
    """Send ``spans`` as a trajectory-feed export (the collector's feed exporter's header)."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        response: trace_service_pb2.ExportTraceServiceResponse = await stub.Export(
            make_request(spans, service=service), metadata=FEED_METADATA, timeout=10
        )
        return response


def hexes(spans: Iterator[Span] | list[Span]) -> list[str]:
    return [s.span_id.hex() for s in spans]
