"""The agent judge's rendering of a trajectory: pinned for a multi-agent fixture, and capped for a huge one
without losing its structure, its first user input or its final output."""

from __future__ import annotations

import re

from judgeval import semconv
from judgeval.data.trace import Trace, TraceSpan

from evaluator_service.scoring.trajectory.rendering import RenderLimits, cut, render_trajectory

from .fixtures import SECOND, START, TRACE_ID, TraceBuilder


def span(span_id: str, name: str, kind: str, parent: str | None, start_ms: int, end_ms: int,
         **fields: object) -> TraceSpan:
    return TraceSpan(span_id=span_id, trace_id=TRACE_ID, span_name=name, parent_span_id=parent,
                     span_kind=kind, start_time_unix_nano=START + start_ms * SECOND // 1000,
                     end_time_unix_nano=START + end_ms * SECOND // 1000, **fields)  # type: ignore[arg-type]


def multi_agent_trace() -> Trace:
    """A travel planner delegating flights to a sub-agent; one tool fails, one result is long."""
    usage = {semconv.GEN_AI_REQUEST_MODEL: "gpt-4.1", semconv.GEN_AI_USAGE_INPUT_TOKENS: 812,
             semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 64}
    spans = [
        span("a1", "travel_planner", "agent", None, 0, 2400, agent_name="travel_planner",
             inputs={"request": "Book me a flight to Lisbon on Friday\nand a hotel"},
             output="Booked flight TP123; no hotel found."),
        span("b1", "chat gpt-4.1", "llm", "a1", 10, 400, agent_name="travel_planner", span_attributes=usage,
             inputs=[{"role": "user", "content": "Book me a flight to Lisbon on Friday"}],
             output="delegate to flight_agent"),
        span("c1", "flight_agent", "agent", "a1", 410, 1500, agent_name="flight_agent",
             inputs={"task": "flight to Lisbon, Friday"}, output="TP123"),
        span("c2", "search_flights", "tool", "c1", 420, 900, agent_name="flight_agent",
             span_attributes={semconv.GEN_AI_TOOL_NAME: "search_flights"},
             inputs={"to": "LIS", "day": "friday"},
             output=[{"flight": f"TP{n}", "price": 100 + n} for n in range(40)]),
        span("c3", "book_flight", "tool", "c1", 910, 1400, agent_name="flight_agent",
             span_attributes={semconv.GEN_AI_TOOL_NAME: "book_flight"}, inputs={"flight": "TP123"},
             output={"confirmation": "X9"}),
        span("d1", "search_hotels", "tool", "a1", 1510, 2300, agent_name="travel_planner",
             span_attributes={semconv.GEN_AI_TOOL_NAME: "search_hotels"}, inputs={"city": "Lisbon"},
             error="HTTP 503 from hotels API"),
    ]
    return Trace.of(spans, bounding_span_id="a1")


EXPECTED = """\
Trajectory: scope trace, 6 spans, 1 LLM call, 3 tool calls, 1 error
First user input:
{"request": "Book me a flight to Lisbon on Friday\\nand a hotel"}
Steps:
[agent] travel_planner 2.400s
  [llm] chat gpt-4.1 0.390s tokens 812/64
      input: [{"content": "Book me a flight to Lisbon on Friday", "role": "user"}]
      output: delegate to flight_agent
  [agent] flight_agent 1.090s
      input: {"task": "flight to Lisbon, Friday"}
      output: TP123
    [tool] search_flights 0.480s
        arguments: {"day": "friday", "to": "LIS"}
        result: [{"flight": "TP0", "price": 100}, {"flight": "TP1", "price": 101}, {"flight": "TP2",\
 "price": 102}, {"flight": "TP3", "price": 103}, {"flight": "TP4", "price": 104}, {"flight": "TP5", \
"price": 105}, {"flight": "TP6", "price": 106}, {"flight": "TP7", "price": 107}, {"flight": "TP8", "\
price": 108}, {"… [1050 more chars]
    [tool] book_flight 0.490s
        arguments: {"flight": "TP123"}
        result: {"confirmation": "X9"}
  [tool] search_hotels 0.790s ERROR: HTTP 503 from hotels API
      arguments: {"city": "Lisbon"}
Final output:
Booked flight TP123; no hotel found."""


def test_the_rendering_of_a_multi_agent_trajectory_is_pinned():
    assert render_trajectory(multi_agent_trace()) == EXPECTED


def test_the_rendering_does_not_depend_on_the_order_spans_arrived_in():
    trace = multi_agent_trace()
    shuffled = Trace.of(list(reversed(trace.trace_spans)), bounding_span_id="a1")
    assert render_trajectory(shuffled) == EXPECTED


def huge_trace() -> Trace:
    builder = TraceBuilder(user_input="Please reconcile every invoice of 2025. " * 400)
    for index in range(3000):
        builder.llm(f"step {index} prompt " + "x" * 2000, f"call tool {index}")
        builder.tool("lookup_invoice", {"invoice": index, "note": "y" * 1000}, result="z" * 5000,
                     error="not found" if index % 10 == 0 else None)
    return builder.build(final_output="Reconciled 2,700 invoices; 300 were not found. " * 200)


def test_a_huge_trajectory_is_cut_to_the_cap_keeping_structure_first_input_and_final_output():
    trace = huge_trace()
    limits = RenderLimits(max_chars=20_000, max_value_chars=200)
    text = render_trajectory(trace, limits)
    assert len(text) <= 20_000
    lines = text.split("\n")
    assert lines[0] == "Trajectory: scope trace, 6001 spans, 3000 LLM calls, 3000 tool calls, 300 errors"
    assert lines[1:3] == ["First user input:", cut("Please reconcile every invoice of 2025. " * 400, 4_000)]
    assert lines[-2:] == ["Final output:",
                          cut("Reconciled 2,700 invoices; 300 were not found. " * 200, 4_000)]
    assert lines[3:5] == ["Steps:", "[agent] weather_agent 600.200s"]  # 6000 steps of 0.1 s, 0.1 s each side
    assert lines[5].startswith("  [llm] chat gpt-4.1 0.100s") and "step 0 prompt" in lines[6]
    omitted = [line for line in lines if line.startswith("… [")]
    assert len(omitted) == 1
    found = re.fullmatch(
        r"… \[(\d+) steps omitted: (\d+) LLM calls, (\d+) tool calls, (\d+) errors\] …", omitted[0])
    assert found is not None
    left_out, llm, tools, errors = map(int, found.groups())
    assert left_out == llm + tools == 6000 - text.count("\n  [") and 270 <= errors <= 300
    # The last steps are kept, whole: the final tool call with its arguments and result.
    assert lines[-5].startswith("  [tool] lookup_invoice 0.100s")
    assert lines[-4].startswith('      arguments: {"invoice": 2999, "note": "yyyy')
    assert lines[-3] == "      result: " + cut("z" * 5000, 200)
    assert render_trajectory(trace, limits) == text  # deterministic


def test_the_omission_marker_counts_what_was_left_out():
    builder = TraceBuilder()
    for index in range(50):
        builder.tool("t", {"i": index}, result="r" * 100, error="boom" if index == 25 else None)
    text = render_trajectory(builder.build(), RenderLimits(max_chars=2_000))
    kept = text.count("[tool] t ")
    marker = next(line for line in text.split("\n") if line.startswith("… ["))
    assert marker == f"… [{50 - kept} steps omitted: 0 LLM calls, {50 - kept} tool calls, 1 error] …"
    assert '{"i": 0}' in text and '{"i": 49}' in text


def test_cycles_and_orphans_are_rendered_once():
    spans = [span("x1", "a", "span", "x2", 0, 10), span("x2", "b", "span", "x1", 5, 10),
             span("y1", "orphan", "tool", "missing", 20, 30)]
    text = render_trajectory(Trace.of(spans))
    assert text.count("[span] a ") == 1 and text.count("[span] b ") == 1 and text.count("[tool] orphan") == 1


def test_a_session_names_its_traces_and_frames_itself_with_the_first_input_and_last_output():
    first = TraceBuilder(user_input="Hi, I need a refund").build(final_output="Which order?")
    second_builder = TraceBuilder(user_input="Order A1")
    second_builder.tool("refund", {"order": "A1"}, result="ok")
    second = second_builder.build(final_output="Refunded A1.")
    moved = [TraceSpan(**{**s.to_json_data(), "events": (), "trace_id": "ab" * 16,
                          "start_time_unix_nano": s.start_time_unix_nano + 60 * SECOND,
                          "end_time_unix_nano": s.end_time_unix_nano + 60 * SECOND,
                          "span_id": "f" + s.span_id[1:],
                          "parent_span_id": s.parent_span_id and "f" + s.parent_span_id[1:]})
             for s in second.trace_spans]  # the second turn: another trace a minute later
    session = Trace.of([*first.trace_spans, *moved], scope="session", session_id="conv-7")
    lines = render_trajectory(session).split("\n")
    assert lines[0] == "Trajectory: scope session (2 traces), 3 spans, 0 LLM calls, 1 tool call, 0 errors"
    assert lines[1:3] == ["First user input:", "Hi, I need a refund"]
    assert lines[-2:] == ["Final output:", "Refunded A1."]
