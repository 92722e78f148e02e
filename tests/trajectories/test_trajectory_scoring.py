"""Trajectory scoring end to end through a real evaluator: feed exports over gRPC, the durable buffer, the
completion sweep on an injected clock, result spans at a real OTLP receiver downstream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import ScorerRef
from judgeval.protocol.trajectory_request import TrajectoryRequest, encode_trajectory_requests
from judgeval.semconv import score_attribute
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan

from evaluator_service.config import EvaluatorConfig
from tests.support.evaluator import export, running, wait_drained, wait_for
from tests.support.polling import eventually_async
from tests.support.spans import make_request
from tests.support.trajectories import (
    LOOP_SCORER,
    TRACESTATE,
    FlakyScorer,
    HangingScorer,
    ManualClock,
    ScorerShelf,
    ToolLoopScorer,
    agent_run,
    clean_run,
    export_feed,
    looping_run,
    requests_value,
    span,
)

GRACE = 5.0
FAST = {"trajectories": {"grace_s": GRACE, "tick_s": 0.05, "trace_idle_s": 60, "session_idle_s": 120}}


def _results(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.name.startswith("evaluate ")]


def _value(result: ReceivedSpan, scorer: str = LOOP_SCORER) -> Any:
    return result.attributes[score_attribute(scorer, semconv.ScoreField.VALUE)]


def _config(make_config: Callable[..., EvaluatorConfig], **overrides: Any) -> EvaluatorConfig:
    return make_config({"trajectories": {**FAST["trajectories"], **overrides}})


async def test_a_looping_agent_scores_zero_naming_the_tool_and_a_clean_run_scores_one(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock, scorer = ManualClock(), ToolLoopScorer()
    loop, clean = (
        looping_run(4, requests=requests_value("trace")),
        clean_run(requests=requests_value("trace")),
    )
    async with running(
        _config(make_config), trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock
    ) as app:
        for run in (loop, clean):
            response = await export_feed(app, run.spans)
            assert not response.partial_success.rejected_spans
        clock.advance(GRACE - 1)
        assert await app.trajectories.sweeper.sweep() == 0  # still in the grace for stragglers
        clock.advance(1)
        await app.trajectories.sweeper.sweep()
        received = await wait_for(receiver, lambda s: len(_results(s)) >= 2)
        await wait_drained(app)
        await eventually_async(lambda: len(receiver.log_records) == 2, lambda: "result log records", 20)
        loop_result = next(r for r in received if r.trace_id == loop.trace_id.hex())
        behavior = await app.shared_state.behavior(str(loop_result.attributes[semconv.JUDGEVAL_BEHAVIOR_ID]))
    assert behavior is not None and behavior.services == ("agent",)  # the bounding span's service
    results = {r.trace_id: r for r in _results(received)}
    assert len(received) == 2, "feed copies are never forwarded: only the two results reach the downstream"
    bad, good = results[loop.trace_id.hex()], results[clean.trace_id.hex()]
    assert _value(bad) == 0.0 and _value(good) == 1.0
    reason = bad.attributes[score_attribute(LOOP_SCORER, semconv.ScoreField.REASON)]
    assert "'search_web'" in reason and "4 times" in reason
    assert bad.name == f"evaluate {LOOP_SCORER}"
    assert bad.parent_span_id == loop.bounding.span_id.hex()
    assert bad.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED
    assert bad.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.FAIL
    assert good.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.PASS
    assert bad.attributes[semconv.JUDGEVAL_TRAJECTORY_SCOPE] == "trace"
    assert bad.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == len(loop.spans)
    assert bad.attributes[semconv.JUDGEVAL_TRAJECTORY_REVISION] == 0
    assert bad.attributes[semconv.JUDGEVAL_EVALUATOR_NAME] == LOOP_SCORER
    # a failing trajectory joins a behavior like a failing span; a passing one does not
    assert bad.attributes[semconv.JUDGEVAL_BEHAVIOR_SCORER] == LOOP_SCORER
    assert semconv.JUDGEVAL_BEHAVIOR_ID not in good.attributes
    assert bad.resource[semconv.SERVICE_NAME] == "agent"
    [(event_name, event)] = bad.events
    # the same result as an OTLP log record (log-based event) with the result span's context
    logs = {r.trace_id.hex(): (resource, r) for resource, r in receiver.log_records}
    resource, record = logs[loop.trace_id.hex()]
    assert record.event_name == semconv.GEN_AI_EVALUATION_RESULT_EVENT
    assert record.span_id.hex() == bad.span_id and resource[semconv.SERVICE_NAME] == "agent"
    assert "4 times" in record.body.string_value
    assert event_name == semconv.GEN_AI_EVALUATION_RESULT_EVENT
    assert event[semconv.GEN_AI_EVALUATION_NAME] == LOOP_SCORER
    seen = {t.trace_ids[0]: t for t in scorer.seen}
    assert seen[loop.trace_id.hex()].trace_spans[0].span_name == "agent run"  # start order
    assert [len(seen[r.trace_id.hex()].tool_calls()) for r in (loop, clean)] == [4, 2]


async def test_the_trajectory_is_the_bounding_spans_subtree_across_services_and_batches(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock, scorer = ManualClock(), ToolLoopScorer()
    run = looping_run(2)
    outer = span("http request", run.trace_id)  # the root, above the bounding span: not the trajectory's
    bounding = span(
        "agent run",
        run.trace_id,
        outer,
        {semconv.JUDGEVAL_TRAJECTORY_REQUESTS: requests_value("trace", config={"max_repeats": 3})},
    )
    calls = [
        span(
            "execute_tool search_web",
            run.trace_id,
            bounding,
            {
                semconv.GEN_AI_OPERATION_NAME: "execute_tool",
                semconv.GEN_AI_TOOL_NAME: "search_web",
                semconv.JUDGEVAL_INPUT: '{"q": "x"}',
            },
            10 * i,
        )
        for i in range(3)
    ]
    remote = span("tool backend", run.trace_id, calls[2])  # another service, below a tool call
    async with running(
        _config(make_config), trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock
    ) as app:
        await export_feed(app, calls[:2])
        await export_feed(app, [remote], service="tool-service")
        await export_feed(app, [bounding, outer])
        clock.advance(1)
        await export_feed(app, [calls[2]])  # a straggler within the grace
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        [result] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))
    [trace] = scorer.seen
    assert {s.span_name for s in trace.trace_spans} == {
        "agent run",
        "execute_tool search_web",
        "tool backend",
    }
    assert {s.service_name for s in trace.trace_spans} == {"agent", "tool-service"}
    assert trace.bounding_span_id == bounding.span_id.hex()
    assert [c.arguments for c in trace.tool_calls()] == [{"q": "x"}] * 3
    assert (
        _value(result) == 0.0
        and "3 times" in result.attributes[score_attribute(LOOP_SCORER, semconv.ScoreField.REASON)]
    )


async def test_a_three_turn_session_is_scored_once_after_idle_and_again_when_it_resumes(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock, scorer = ManualClock(), ToolLoopScorer()
    turns = [
        agent_run([("lookup_order", {"id": 7})], requests=requests_value("session"), session="chat-42")
        for _ in range(3)
    ]
    async with running(
        _config(make_config), trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock
    ) as app:
        for turn in turns:
            await export_feed(app, turn.spans)
            clock.advance(60)  # a user typing the next turn: under the 120 s idle
            await app.trajectories.sweeper.sweep()
        assert scorer.seen == []
        clock.advance(61)
        await app.trajectories.sweeper.sweep()
        [first] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))
        fourth = agent_run(
            [("lookup_order", {"id": 7})], requests=requests_value("session"), session="chat-42"
        )
        await export_feed(app, fourth.spans)
        clock.advance(121)
        await app.trajectories.sweeper.sweep()
        received = await wait_for(receiver, lambda s: len(_results(s)) >= 2)
    second = next(r for r in _results(received) if r.span_id != first.span_id)
    assert first.attributes[semconv.JUDGEVAL_TRAJECTORY_SCOPE] == "session"
    assert first.attributes[semconv.JUDGEVAL_TRAJECTORY_SESSION_ID] == "chat-42"
    assert list(first.attributes[semconv.JUDGEVAL_TRAJECTORY_TRACE_IDS]) == [t.trace_id.hex() for t in turns]
    assert first.links == [(t.trace_id.hex(), t.bounding.span_id.hex()) for t in turns]
    assert (first.trace_id, first.parent_span_id) == (
        turns[-1].trace_id.hex(),
        turns[-1].bounding.span_id.hex(),
    )
    assert _value(first) == 0.0, "three turns each calling lookup_order(7): the session loops"
    key = semconv.JUDGEVAL_TRAJECTORY_RESULT_KEY
    assert second.attributes[key] == first.attributes[key]
    assert (
        first.attributes[semconv.JUDGEVAL_TRAJECTORY_REVISION],
        second.attributes[semconv.JUDGEVAL_TRAJECTORY_REVISION],
    ) == (0, 1)
    assert len(second.links) == 4 and second.trace_id == fourth.trace_id.hex()
    assert [len(t.trace_spans) for t in scorer.seen] == [9, 12]
    assert app.trajectories.counters.totals["trajectories.rescored"] == 1


async def test_late_spans_rescore_under_the_same_key_until_the_budget_then_are_counted(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock, scorer = ManualClock(), ToolLoopScorer()
    run = looping_run(2, requests=requests_value("trace"))
    async with running(
        _config(make_config, late_rescores=1),
        clock=clock,
        trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})],
    ) as app:
        await export_feed(app, run.spans)
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        await wait_for(receiver, lambda s: len(_results(s)) >= 1)
        late = span(
            "execute_tool search_web",
            run.trace_id,
            run.bounding,
            {
                semconv.GEN_AI_OPERATION_NAME: "execute_tool",
                semconv.GEN_AI_TOOL_NAME: "search_web",
                semconv.JUDGEVAL_INPUT: '{"q": "weather in Paris"}',
            },
            900,
        )
        await export_feed(app, [late])
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        received = await wait_for(receiver, lambda s: len(_results(s)) >= 2)
        response = await export_feed(app, [span("too late", run.trace_id, run.bounding)])
        clock.advance(GRACE)
        assert await app.trajectories.sweeper.sweep() == 0
        totals = app.trajectories.counters.totals
    first, second = sorted(
        _results(received), key=lambda r: r.attributes[semconv.JUDGEVAL_TRAJECTORY_REVISION]
    )
    assert (_value(first), _value(second)) == (1.0, 0.0), "the late third call made it a loop"
    key = semconv.JUDGEVAL_TRAJECTORY_RESULT_KEY
    assert first.attributes[key] == second.attributes[key]
    assert (
        "late span" in response.partial_success.error_message and not response.partial_success.rejected_spans
    )
    assert totals["spans.late"] == 1 and totals["trajectories.rescored"] == 1


async def test_bounds_are_counted_on_the_result_and_a_full_buffer_answers_unavailable(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock, scorer = ManualClock(), ToolLoopScorer()
    run = looping_run(6, requests=requests_value("trace"))
    config = _config(make_config, max_spans_per_trajectory=4, max_trajectories=1, late_rescores=0)
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        response = await export_feed(app, run.spans)
        assert "max_spans_per_trajectory" in response.partial_success.error_message
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await export_feed(app, clean_run(requests=requests_value("trace")).spans)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "max_trajectories" in (refused.value.details() or "")
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        [result] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))
        # a late span of the scored trace adds no trajectory: nothing is evicted for it (the trace is at its
        # span bound, so the span is counted truncated)
        await export_feed(app, [span("late", run.trace_id, run.bounding)])
        assert app.trajectories.counters.totals["trajectories.evicted"] == 0
        # the scored trajectory is only kept for late spans now: it makes room for the next one
        await export_feed(app, clean_run(requests=requests_value("trace")).spans)
        totals = app.trajectories.counters.totals
    # 8 spans: the LLM call and three tool calls fit, three tool calls do not, the end marker always does
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_TRUNCATED_SPANS] == 3
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == 5
    assert totals["spans.truncated"] == 3 + 1 and totals["spans.refused"] == 4
    assert totals["trajectories.evicted"] == 1


async def test_feed_copies_without_a_bounding_span_are_given_up_and_counted(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock = ManualClock()
    run = looping_run(2)
    async with running(_config(make_config), clock=clock) as app:
        await export_feed(app, run.children)
        clock.advance(59)
        await app.trajectories.sweeper.sweep()
        assert app.trajectories.buffer.trajectory_count == 1
        clock.advance(1)
        await app.trajectories.sweeper.sweep()
        assert app.trajectories.buffer.trajectory_count == 0
        assert app.trajectories.buffer.byte_count == 0
        assert app.trajectories.counters.totals["trajectories.unbounded"] == 1
    assert receiver.spans == []


async def test_bad_requests_and_unknown_scorers_become_error_results_and_transient_errors_retry(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock, flaky = ManualClock(), FlakyScorer(failures=2)
    broken = agent_run([], requests='[{"scope": "trace"}]')
    unknown = agent_run([], requests=requests_value("trace", scorer="nobody_has_this"))
    local = agent_run(
        [],
        requests=encode_trajectory_requests(
            [TrajectoryRequest(ScorerRef(name="in_process", server_hosted=False))]
        ),
    )
    retried = agent_run([], requests=requests_value("trace", scorer="flaky"))
    async with running(
        _config(make_config), trajectory_sources=[ScorerShelf({"flaky": flaky})], clock=clock
    ) as app:
        for run in (broken, unknown, retried, local):
            await export_feed(app, run.spans)
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        received = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 3))
    by_trace = {r.trace_id: r for r in received}
    bad, missing, ok = (by_trace[r.trace_id.hex()] for r in (broken, unknown, retried))
    assert bad.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.FAILED
    assert "scorer" in bad.attributes[semconv.JUDGEVAL_EVAL_ERROR]
    assert "unknown_scorer" in missing.attributes[semconv.JUDGEVAL_EVAL_ERROR]
    assert missing.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.ERROR
    assert flaky.calls == 3 and ok.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.PASS
    assert local.trace_id.hex() not in by_trace  # the agent scores it; the evaluator writes nothing
    assert app.trajectories.counters.totals["trajectories.local"] == 1


async def test_ordinary_exports_are_untouched_and_feed_copies_survive_a_restart(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver, tmp_path: Any
) -> None:
    clock, scorer = ManualClock(), ToolLoopScorer()
    run = looping_run(4, requests=requests_value("trace"))
    config = _config(make_config)
    async with running(config, clock=clock) as app:
        # the original of a trajectory span takes the normal route: forwarded, marked, not buffered
        await export(app, make_request([span("original", run.trace_id)]))
        await export_feed(app, run.spans)
        await wait_for(receiver, lambda s: len(s) >= 1)
        assert app.trajectories.buffer.trajectory_count == 1
    [original] = receiver.spans
    assert (
        original.name == "original"
        and original.proto is not None
        and original.proto.trace_state == TRACESTATE
    )
    assert original.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.NOT_SELECTED
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        received = await wait_for(receiver, lambda s: len(_results(s)) >= 1)
    assert len(_results(received)) == 1 and _value(_results(received)[0]) == 0.0


@pytest.mark.parametrize("direct", [True, False])
async def test_agents_exporting_straight_to_the_evaluator_are_scored_with_direct_on(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver, direct: bool
) -> None:
    clock, scorer = ManualClock(), ToolLoopScorer()
    run = looping_run(4, requests=requests_value("trace"))
    config = _config(make_config, direct=direct)
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        await export(app, make_request(run.spans))  # an ordinary export, no feed header: no collector
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        received = await wait_for(receiver, lambda s: len(s) >= len(run.spans) + (1 if direct else 0))
        await wait_drained(app)
        buffered = app.trajectories.counters.totals["spans.buffered"]
    originals = [s for s in received if not s.name.startswith("evaluate ")]
    # every original forwarded once
    assert sorted(s.span_id for s in originals) == sorted(s.span_id.hex() for s in run.spans)
    assert buffered == (len(run.spans) if direct else 0)
    assert [_value(r) for r in _results(received)] == ([0.0] if direct else [])


async def test_a_scorers_limits_entry_sets_its_timeout_and_retries(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock, hanging = ManualClock(), HangingScorer()
    run = agent_run([], requests=requests_value("trace", scorer="hanging"))
    doc = {**FAST, "limits": {"hanging": {"timeout_s": 0.2, "max_retries": 1}}}
    async with running(
        make_config(doc), trajectory_sources=[ScorerShelf({"hanging": hanging})], clock=clock
    ) as app:
        await export_feed(app, run.spans)
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        [result] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))
    assert hanging.calls == 2  # one retry after the timeout
    assert "timeout" in result.attributes[semconv.JUDGEVAL_EVAL_ERROR]
    assert "0.2s" in result.attributes[semconv.JUDGEVAL_EVAL_ERROR]
