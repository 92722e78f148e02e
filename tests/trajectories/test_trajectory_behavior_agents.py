"""A failing trajectory result names its agents: on the ``evaluate <scorer>`` span (``gen_ai.agent.name``) and
on the behavior it joins. Through a real evaluator: feed exports over gRPC, the buffer, the sweep on an
injected clock, the shared state, result spans at a real OTLP receiver."""

from __future__ import annotations

from collections.abc import Callable

from judgeval import semconv
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan

from evaluator_service.config import EvaluatorConfig
from tests.support.evaluator import running, wait_for
from tests.support.trajectories import (
    LOOP_SCORER,
    ManualClock,
    ScorerShelf,
    ToolLoopScorer,
    agent_run,
    export_feed,
    looping_run,
    requests_value,
    span,
)

GRACE = 5.0
FAST = {"trajectories": {"grace_s": GRACE, "tick_s": 0.05, "trace_idle_s": 60, "session_idle_s": 120}}


def _results(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.name.startswith("evaluate ")]


async def test_a_failing_trace_result_carries_its_bounding_spans_agent_to_span_and_behavior(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock = ManualClock()
    triage = looping_run(4, requests=requests_value("trace"), agent="triage")
    # no agent on the bounding span: the agent running below it is the trajectory's
    unnamed = looping_run(4, requests=requests_value("trace"))
    unnamed.children.append(span("invoke_agent billing", unnamed.trace_id, unnamed.bounding,
                                 {semconv.GEN_AI_AGENT_NAME: "billing"}, 5))
    async with running(make_config(FAST), trajectory_sources=[ScorerShelf({LOOP_SCORER: ToolLoopScorer()})],
                       clock=clock) as app:
        for run in (triage, unnamed):
            await export_feed(app, run.spans)
        clock.advance(GRACE)
        await app.trajectories.sweeper.sweep()
        results = {r.trace_id: r for r in _results(await wait_for(receiver, lambda s: len(_results(s)) >= 2))}
        first, second = results[triage.trace_id.hex()], results[unnamed.trace_id.hex()]
        behavior = await app.shared_state.behavior(str(first.attributes[semconv.JUDGEVAL_BEHAVIOR_ID]))
    assert first.attributes[semconv.GEN_AI_AGENT_NAME] == "triage"
    assert second.attributes[semconv.GEN_AI_AGENT_NAME] == "billing"
    assert second.attributes[semconv.JUDGEVAL_BEHAVIOR_ID] == first.attributes[semconv.JUDGEVAL_BEHAVIOR_ID]
    assert behavior is not None and behavior.agents == ("triage", "billing")


async def test_a_failing_session_result_carries_every_agent_seen_across_its_turns(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock = ManualClock()
    turns = [
        agent_run([("lookup_order", {"id": 7})], requests=requests_value("session"), session="chat-7",
                  agent=agent)
        for agent in ("triage", "billing", "refunds")
    ]
    async with running(make_config(FAST), trajectory_sources=[ScorerShelf({LOOP_SCORER: ToolLoopScorer()})],
                       clock=clock) as app:
        for turn in turns:
            await export_feed(app, turn.spans)
            clock.advance(10)
        clock.advance(121)
        await app.trajectories.sweeper.sweep()
        [result] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))
        behavior = await app.shared_state.behavior(str(result.attributes[semconv.JUDGEVAL_BEHAVIOR_ID]))
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SCOPE] == "session"
    assert result.attributes[semconv.GEN_AI_AGENT_NAME] == "refunds"  # the latest turn's, under whose span
    assert behavior is not None and behavior.agents == ("refunds", "triage", "billing")
