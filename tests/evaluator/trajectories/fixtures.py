"""Fixture trajectories for the trajectory scorers: an agent that loops a tool, a clean run, a failing run."""

from __future__ import annotations

from typing import Any

from judgeval import semconv
from judgeval.data.trace import Trace, TraceSpan
from judgeval.protocol.evaluation_request import ScorerRef
from judgeval.protocol.trajectory_request import TrajectoryRequest

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
ROOT_ID = "00f067aa0ba902b7"
SECOND = 1_000_000_000
START = 1_700_000_000 * SECOND


class TraceBuilder:
    """Spans of one trace under an agent root span, each step 100 ms after the previous one."""

    def __init__(self, user_input: Any = "What is the weather in Paris?",
                 agent: str = "weather_agent") -> None:
        self.agent = agent
        self.spans: list[TraceSpan] = []
        self.root_input = user_input
        self._clock = START

    def _next_id(self) -> str:
        return f"{len(self.spans) + 1:016x}"

    def step(self, name: str, kind: str, *, inputs: Any = None, output: Any = None, error: str | None = None,
             attributes: dict[str, Any] | None = None, seconds: float = 0.1) -> TraceBuilder:
        start = self._clock
        self._clock += int(seconds * SECOND)
        self.spans.append(TraceSpan(
            span_id=self._next_id(), trace_id=TRACE_ID, span_name=name, parent_span_id=ROOT_ID,
            span_kind=kind, service_name="agent-svc", start_time_unix_nano=start,
            end_time_unix_nano=self._clock,
            span_attributes=dict(attributes or {}), inputs=inputs, output=output, error=error,
            agent_name=self.agent,
        ))
        return self

    def llm(self, prompt: Any, answer: Any, *, tokens: tuple[int, int] = (100, 20),
            model: str = "gpt-4.1") -> TraceBuilder:
        return self.step("chat " + model, "llm", inputs=prompt, output=answer, attributes={
            semconv.GEN_AI_REQUEST_MODEL: model, semconv.GEN_AI_USAGE_INPUT_TOKENS: tokens[0],
            semconv.GEN_AI_USAGE_OUTPUT_TOKENS: tokens[1]})

    def tool(self, name: str, arguments: Any, result: Any = None, error: str | None = None) -> TraceBuilder:
        return self.step(name, "tool", inputs=arguments, output=result, error=error,
                         attributes={semconv.GEN_AI_TOOL_NAME: name})

    def build(self, final_output: Any = "It is sunny in Paris.") -> Trace:
        root = TraceSpan(
            span_id=ROOT_ID, trace_id=TRACE_ID, span_name=self.agent, span_kind="agent",
            service_name="agent-svc", start_time_unix_nano=START - SECOND // 10,
            end_time_unix_nano=self._clock + SECOND // 10, inputs=self.root_input, output=final_output,
            agent_name=self.agent,
        )
        return Trace.of([root, *self.spans], bounding_span_id=ROOT_ID)


def looping_trace(times: int = 4) -> Trace:
    """The agent calls ``search`` with the same arguments ``times`` times in a row, thinking in between."""
    builder = TraceBuilder()
    for _ in range(times):
        builder.llm("Find the weather", "call search").tool(
            "search", {"query": "weather Paris", "limit": 3}, result="no results")
    return builder.build(final_output="I could not find the weather.")


def clean_trace() -> Trace:
    """A clean run: plan, two different tools, answer."""
    return (TraceBuilder()
            .llm("What is the weather in Paris?", "call search")
            .tool("search", {"query": "weather Paris"}, result="meteo.fr/paris")
            .tool("fetch_page", {"url": "meteo.fr/paris"}, result="Sunny, 24°C")
            .llm("Summarize: Sunny, 24°C", "It is sunny in Paris.")
            .build())


def failing_trace() -> Trace:
    """Two of four tool calls fail (one by its status, one by its error.type attribute)."""
    builder = (TraceBuilder()
               .tool("search", {"query": "weather Paris"}, error="timeout after 10s")
               .tool("search", {"query": "Paris weather"}, result="meteo.fr/paris")
               .tool("fetch_page", {"url": "meteo.fr/paris"}, result="Sunny"))
    builder.step("fetch_page", "tool", inputs={"url": "x"},
                 attributes={semconv.GEN_AI_TOOL_NAME: "fetch_page", semconv.ERROR_TYPE: "HTTPError"})
    return builder.build()


def request(name: str, config: dict[str, Any] | None = None, model: str | None = None,
            threshold: float = 0.5) -> TrajectoryRequest:
    return TrajectoryRequest(scorer=ScorerRef(name=name, threshold=threshold, config=dict(config or {})),
                             model=model)
