"""Zero-code trajectory rules through a real evaluator's gRPC intake, on an injected clock: a rule's own
``grace_s`` (the bounding span as end marker, SDK-bounded traces keeping ``trajectories.grace_s``), and
``trajectories.direct: true`` applying ``scope: trace`` / ``scope: session`` rules to ordinary exports."""

from __future__ import annotations

from collections.abc import Callable

from judgeval import semconv
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan

from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from evaluator_service.config_sections import RuleConfig
from evaluator_service.trajectories.rules import TrajectoryRules
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import make_request, make_span
from tests.support.trajectories import (
    LOOP_SCORER,
    ManualClock,
    ScorerShelf,
    ToolLoopScorer,
    export_feed,
    looping_run,
    requests_value,
    tool_call,
    zero_code,
)


def _results(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.name.startswith("evaluate ")]


async def _sweep(app: EvaluatorApp) -> int:
    assert app.trajectories is not None
    return await app.trajectories.sweeper.sweep()


async def test_a_rule_grace_scores_that_long_after_the_bounding_span_and_sdk_traces_keep_the_global_one(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    rules = [{"name": "loops", "scope": "trace", "scorer": LOOP_SCORER, "grace_s": 2}]
    clock, scorer = ManualClock(), ToolLoopScorer()
    ruled = looping_run(4)
    spans = zero_code(ruled)
    tagged = looping_run(3, requests=requests_value("trace"))  # SDK-bounded: trajectories.grace_s
    config = make_config({"rules": rules, "trajectories": {"tick_s": 0.05, "grace_s": 10}})
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        await export_feed(app, spans[:-2])
        await export_feed(app, [spans[-1], *tagged.spans])  # the root, the rule's end marker
        clock.advance(1.5)
        await export_feed(app, [spans[-2]])  # a straggler: kept, but it does not move a grace
        assert await _sweep(app) == 0
        clock.advance(0.5)
        assert await _sweep(app) == 1  # 2 s after the root: not 30 s of silence (the idle_s default)
        [first] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))
        clock.advance(7.9)
        assert await _sweep(app) == 0  # the SDK-bounded trace waits for trajectories.grace_s
        clock.advance(0.1)
        assert await _sweep(app) == 1
        await wait_for(receiver, lambda s: len(_results(s)) >= 2)
        late = tool_call(ruled.trace_id, ruled.bounding, "search_web", {"q": "weather in Paris"}, 900)
        late.ClearField("trace_state")
        await export_feed(app, [late])  # after the score: re-opened, due after the rule's grace again
        clock.advance(1.9)
        assert await _sweep(app) == 0
        clock.advance(0.1)
        await _sweep(app)
        received = await wait_for(receiver, lambda s: len(_results(s)) >= 3)
    assert first.trace_id == ruled.trace_id.hex()
    assert first.parent_span_id == ruled.bounding.span_id.hex()
    assert first.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == len(spans)
    assert first.attributes[score_attribute(LOOP_SCORER, ScoreField.VALUE)] == 0.0
    rescored = [r for r in _results(received) if r.attributes[semconv.JUDGEVAL_TRAJECTORY_REVISION] == 1]
    assert [r.trace_id for r in rescored] == [ruled.trace_id.hex()]
    assert rescored[0].attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == len(spans) + 1


async def test_direct_exports_apply_zero_code_trace_and_session_rules(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    rules = [
        {"name": "loops", "scope": "trace", "scorer": LOOP_SCORER, "idle_s": 10},
        {"name": "chats", "scope": "session", "scorer": LOOP_SCORER, "session_keys": ["app.chat"]},
    ]
    clock, scorer = ManualClock(), ToolLoopScorer()
    runs = [looping_run(2) for _ in range(2)]
    trajectories = {"tick_s": 0.05, "session_idle_s": 60, "direct": True}
    config = make_config({"rules": rules, "trajectories": trajectories})
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        for run in runs:  # ordinary exports, as an agent exporting straight to the evaluator sends them
            response = await export(app, make_request(zero_code(run, **{"app.chat": "c-1"})))
            assert not response.partial_success.rejected_spans
        originals = await wait_for(receiver, lambda s: len(s) >= 8)
        clock.advance(10)
        assert await _sweep(app) == 2
        await wait_for(receiver, lambda s: len(_results(s)) >= 2)
        clock.advance(60)
        await _sweep(app)
        received = await wait_for(receiver, lambda s: len(_results(s)) >= 3)
    assert sorted(s.span_id for s in originals[:8]) == sorted(
        s.span_id.hex() for run in runs for s in run.spans
    ), "the originals are forwarded once, as usual; the buffered copies never are"
    results = _results(received)
    by_scope = {scope: [r for r in results if r.attributes[semconv.JUDGEVAL_TRAJECTORY_SCOPE] == scope]
                for scope in ("trace", "session")}
    assert sorted(r.trace_id for r in by_scope["trace"]) == sorted(run.trace_id.hex() for run in runs)
    [session] = by_scope["session"]
    assert session.attributes[semconv.JUDGEVAL_TRAJECTORY_SESSION_ID] == "c-1"
    assert sorted(session.attributes[semconv.JUDGEVAL_TRAJECTORY_TRACE_IDS]) == sorted(
        r.trace_id.hex() for r in runs
    )
    assert session.attributes[score_attribute(LOOP_SCORER, ScoreField.VALUE)] == 0.0  # search_web 4x
    assert len(received) == 8 + 3


def test_waiting_for_silence_wins_over_a_rule_grace_and_the_longest_wait_counts() -> None:
    def rule(name: str, **wait: float) -> RuleConfig:
        return RuleConfig(name, LOOP_SCORER, {}, scope="trace", **wait)

    root = make_span("invoke_agent")
    graced = TrajectoryRules([rule("a", grace_s=2), rule("b", grace_s=7)]).bound(root, {}, "agent")
    mixed = TrajectoryRules([rule("a", grace_s=2), rule("b", idle_s=10), rule("c", idle_s=4)]).bound(
        root, {}, "agent"
    )
    assert graced is not None and (graced.idle_s, graced.grace_s) == (None, 7)
    assert mixed is not None and (mixed.idle_s, mixed.grace_s) == (10, None)
    rates = TrajectoryRules([RuleConfig("a", LOOP_SCORER, {}, sampling_rate=0.25, scope="trace", grace_s=1),
                             RuleConfig("b", LOOP_SCORER, {}, sampling_rate=0.5, scope="session")])
    only_the_wider = int(0.6 * 2**56).to_bytes(16, "big")  # sampled at 0.5, not at 0.25
    assert rates.samples(only_the_wider) and not rates.samples(bytes(16))
    assert not TrajectoryRules([RuleConfig("span-rule", LOOP_SCORER, {"a": 1})]).samples(bytes(16))
