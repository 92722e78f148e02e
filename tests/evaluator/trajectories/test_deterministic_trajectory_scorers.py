"""The deterministic built-in trajectory scorers on fixture trajectories: tool loops, tool-error rate,
step, LLM-call, latency and token budgets, used by type name and from YAML entries."""

from __future__ import annotations

from typing import Any

import pytest
from judgeval import semconv
from judgeval.data.trace import Trace

from evaluator_service.scoring.contract import InvalidExampleError, ScoreOutcome
from evaluator_service.scoring.settings import JudgeConfig, ScorerConfig
from evaluator_service.scoring.trajectory.catalog import TrajectoryScorers
from evaluator_service.scoring.trajectory.deterministic import INLINE_SPANS
from evaluator_service.scoring.trajectory.rendering import render_trajectory

from .fixtures import TraceBuilder, clean_trace, failing_trace, looping_trace, request


async def score(name: str, trace: Trace, config: dict[str, Any] | None = None,
                yaml: list[ScorerConfig] | None = None) -> ScoreOutcome:
    scorers = TrajectoryScorers(yaml or [], JudgeConfig())
    scorer = scorers.resolve(request(name, config).scorer)
    assert scorer is not None
    return await scorer.score_trajectory(trace, request(name, config))


async def test_an_agent_looping_a_tool_four_times_scores_0_naming_the_tool_and_count():
    outcome = await score("tool_loop", looping_trace(4))
    assert outcome.value == 0.0
    assert "'search'" in outcome.reason and "4 times in a row" in outcome.reason
    assert '"query": "weather Paris"' in outcome.reason and "at most 3" in outcome.reason


async def test_a_clean_run_scores_1():
    outcome = await score("tool_loop", clean_trace())
    assert outcome.value == 1.0
    assert outcome.reason == ("no tool call repeated with the same arguments more than 3 times in a row "
                              "(most: 'search', once)")


async def test_three_repeats_are_within_the_default_limit_and_max_repeats_tightens_it():
    within = await score("tool_loop", looping_trace(3))
    assert within.value == 1.0 and within.reason.endswith("(most: 'search', 3 times)")
    outcome = await score("tool_loop", looping_trace(3), {"max_repeats": 2})
    assert outcome.value == 0.0 and "3 times in a row" in outcome.reason


async def test_different_arguments_or_key_order_decide_what_counts_as_the_same_call():
    reordered = (TraceBuilder().tool("search", {"a": 1, "b": 2}).tool("search", {"b": 2, "a": 1})
                 .tool("search", {"a": 1, "b": 2}).tool("search", {"b": 2, "a": 1}).build())
    assert (await score("tool_loop", reordered)).value == 0.0
    varied = TraceBuilder()
    for page in range(6):
        varied.tool("search", {"query": "weather", "page": page})
    assert (await score("tool_loop", varied.build())).value == 1.0


async def test_total_mode_counts_repeats_that_are_not_in_a_row():
    builder = TraceBuilder()
    for _ in range(4):
        builder.tool("search", {"q": "x"}).tool("fetch_page", {"url": "y"})
    trace = builder.build()
    assert (await score("tool_loop", trace)).value == 1.0
    outcome = await score("tool_loop", trace, {"mode": "total"})
    assert outcome.value == 0.0 and "'search' was called 4 times in total" in outcome.reason


async def test_tool_error_rate_scores_the_share_of_tool_calls_that_did_not_fail():
    outcome = await score("tool_error_rate", failing_trace())
    assert outcome.value == 0.5 and outcome.success is None
    assert outcome.reason.startswith("2 of 4 tool calls failed (50%)")
    assert "'search': timeout after 10s" in outcome.reason and "'fetch_page': HTTPError" in outcome.reason
    clean = await score("tool_error_rate", clean_trace())
    assert clean.value == 1.0 and clean.reason == "0 of 2 tool calls failed (0%)"
    assert (await score("tool_error_rate", TraceBuilder().build())).reason == "no tool calls"


async def test_max_error_rate_decides_success_itself():
    strict = await score("tool_error_rate", failing_trace(), {"max_error_rate": 0.25})
    lenient = await score("tool_error_rate", failing_trace(), {"max_error_rate": 0.5})
    assert strict.success is False and "(at most 25% allowed)" in strict.reason
    assert lenient.success is True


async def test_step_and_llm_call_budgets():
    trace = looping_trace(4)  # 4 LLM calls and 4 tool calls
    over = await score("step_budget", trace, {"max_steps": 7})
    assert over.value == 0.0 and over.reason == "8 steps (4 LLM calls, 4 tool calls), over the budget of 7"
    assert (await score("step_budget", trace, {"max_steps": 8})).value == 1.0
    llm = await score("llm_call_budget", trace, {"max_llm_calls": 3})
    assert llm.value == 0.0 and llm.reason == "4 LLM calls (gpt-4.1: 4), over the budget of 3"
    assert (await score("llm_call_budget", clean_trace(), {"max_llm_calls": 2})).value == 1.0


async def test_latency_budget_reads_the_bounding_span():
    trace = clean_trace()  # four 100 ms steps inside a root span 100 ms longer on each side: 0.6 s
    over = await score("latency_budget", trace, {"max_seconds": 0.5})
    assert over.value == 0.0 and over.reason == "took 0.600 s, over the budget of 0.5 s"
    assert (await score("latency_budget", trace, {"max_seconds": 0.6})).value == 1.0


async def test_latency_without_a_bounding_span_spans_first_start_to_last_end():
    trace = clean_trace()
    session = Trace.of(list(trace.trace_spans[1:]), scope="session", session_id="s1")
    outcome = await score("latency_budget", session, {"max_seconds": 1})
    assert outcome.reason == "took 0.400 s, within the budget of 1 s"


async def test_latency_without_timings_is_an_invalid_trajectory():
    trace = Trace.of([], scope="session")
    with pytest.raises(InvalidExampleError, match="no start and end times"):
        await score("latency_budget", trace, {"max_seconds": 1})


async def test_token_budget_sums_gen_ai_usage_of_llm_calls_only():
    builder = TraceBuilder().llm("a", "b", tokens=(1000, 200)).llm("c", "d", tokens=(500, 100))
    # An agent span repeating its children's sum must not be counted twice.
    builder.step("agent step", "agent", attributes={"gen_ai.usage.input_tokens": 1500})
    trace = builder.build()
    within = await score("token_budget", trace, {"max_tokens": 1800})
    assert within.value == 1.0
    assert within.reason == "1800 tokens (1500 input, 300 output) over 2 LLM calls, within the budget of 1800"
    over = await score("token_budget", trace, {"max_tokens": 1799, "max_output_tokens": 250})
    assert over.value == 0.0
    assert "over the token budget of 1799 and the output-token budget of 250" in over.reason


async def test_yaml_options_win_over_the_request_config():
    yaml = [ScorerConfig(name="tight_steps", type="step_budget", options={"max_steps": 2})]
    outcome = await score("tight_steps", clean_trace(), {"max_steps": 100}, yaml)
    assert outcome.value == 0.0 and "over the budget of 2" in outcome.reason


async def test_a_budget_used_by_name_without_its_option_says_which_option_is_missing():
    with pytest.raises(InvalidExampleError, match="scorer config max_steps: required, a positive integer"):
        await score("step_budget", clean_trace())


async def test_a_bad_request_option_fails_that_request_only():
    with pytest.raises(InvalidExampleError, match="scorer config max_repeats: must be a positive integer"):
        await score("tool_loop", looping_trace(), {"max_repeats": "three"})
    assert (await score("tool_loop", looping_trace(), {"max_repeats": 5})).value == 1.0


async def test_large_trajectories_are_scored_off_the_event_loop_with_the_same_result():
    builder = TraceBuilder()
    for index in range(INLINE_SPANS + 10):
        builder.tool("search", {"page": index})
    for _ in range(5):
        builder.tool("search", {"page": "same"})
    outcome = await score("tool_loop", builder.build())
    assert outcome.value == 0.0 and "5 times in a row" in outcome.reason


async def test_arguments_nested_too_deeply_to_serialize_do_not_break_the_scorers():
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    trace = TraceBuilder().tool("search", deep).tool("search", {"q": 1}).build()
    outcome = await score("tool_loop", trace)
    assert outcome.value == 1.0
    assert "(a value nested too deeply to show)" in render_trajectory(trace)


async def test_genai_tool_spans_are_compared_by_their_call_arguments_attribute():
    builder = TraceBuilder()
    for query in ("a", "b", "c", "d"):  # OTel GenAI execute_tool spans: arguments only as an attribute
        builder.step("execute_tool search", "execute_tool", attributes={
            semconv.GEN_AI_TOOL_NAME: "search", semconv.GEN_AI_TOOL_CALL_ARGUMENTS: f'{{"q": "{query}"}}'})
    assert (await score("tool_loop", builder.build())).value == 1.0
    for _ in range(3):
        builder.step("execute_tool search", "execute_tool", attributes={
            semconv.GEN_AI_TOOL_NAME: "search", semconv.GEN_AI_TOOL_CALL_ARGUMENTS: '{"q":"d"}'})
    looping = await score("tool_loop", builder.build())
    assert looping.value == 0.0 and looping.reason.startswith("tool 'search' was called 4 times in a row")
    assert 'arguments {"q": "d"}' in looping.reason
    assert 'arguments: {"q": "d"}' in render_trajectory(builder.build())


async def test_calls_whose_arguments_were_not_recorded_never_count_as_repeats():
    builder = TraceBuilder()
    for _ in range(5):
        builder.step("lookup", "tool", attributes={semconv.GEN_AI_TOOL_NAME: "lookup"})
    outcome = await score("tool_loop", builder.build())
    assert outcome.value == 1.0 and outcome.reason.endswith("(most: 'lookup', once)")
