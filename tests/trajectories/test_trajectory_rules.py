"""Zero-code trajectory rules: ``scope: trace`` bounds a trace at its root (or a ``when`` match) and scores it
after ``idle_s`` of silence; ``scope: session`` groups traces by a configurable session key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from judgeval import semconv
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan

from evaluator_service.config import ConfigError, EvaluatorConfig
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import make_request
from tests.support.trajectories import (
    LOOP_SCORER,
    ManualClock,
    ScorerShelf,
    ToolLoopScorer,
    export_feed,
    looping_run,
    zero_code,
)


def _results(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.name.startswith("evaluate ")]


async def test_a_trace_rule_scores_a_zero_code_trace_after_it_went_quiet(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    rules = [{"name": "loops", "scope": "trace", "scorer": LOOP_SCORER, "idle_s": 10}]
    clock, scorer = ManualClock(), ToolLoopScorer()
    run = looping_run(4)
    spans = zero_code(run)
    config = make_config({"rules": rules, "trajectories": {"tick_s": 0.05}})
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        await export_feed(app, spans[:-2])
        await export_feed(app, [spans[-1]])  # the root ends last
        clock.advance(9)
        await export_feed(app, [spans[-2]])  # a straggler keeps the trace open
        clock.advance(9)
        assert await app.trajectories.sweeper.sweep() == 0
        clock.advance(1)
        await app.trajectories.sweeper.sweep()
        [result] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))
        # the same rule never tags spans for span scoring: an ordinary export passes through
        await export(app, make_request([looping_run(1).bounding]))
        received = await wait_for(receiver, lambda s: len(s) >= 2)
    assert result.parent_span_id == run.bounding.span_id.hex()
    assert result.attributes[score_attribute(LOOP_SCORER, ScoreField.VALUE)] == 0.0
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == len(spans)
    [passed] = [s for s in received if not s.name.startswith("evaluate ")]
    assert passed.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.NOT_SELECTED


async def test_a_session_rule_groups_traces_by_its_session_key(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    rules = [
        {
            "name": "chats",
            "scope": "session",
            "scorer": LOOP_SCORER,
            "session_keys": ["app.chat"],
            "when": {"judgeval.span.type": "agent"},
        }
    ]
    clock, scorer = ManualClock(), ToolLoopScorer()
    runs = [looping_run(1) for _ in range(3)]
    config = make_config({"rules": rules, "trajectories": {"tick_s": 0.05, "session_idle_s": 60}})
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        for run in runs:
            await export_feed(app, zero_code(run, **{"app.chat": "c-1"}))
            clock.advance(10)
        other = looping_run(1)  # no session key: not part of any session
        await export_feed(app, zero_code(other))
        clock.advance(61)
        await app.trajectories.sweeper.sweep()
        [result] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SESSION_ID] == "c-1"
    assert list(result.attributes[semconv.JUDGEVAL_TRAJECTORY_TRACE_IDS]) == [r.trace_id.hex() for r in runs]
    assert result.attributes[score_attribute(LOOP_SCORER, ScoreField.VALUE)] == 0.0  # search_web 3x


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"scope": "trace", "example": {"input": "x"}},
            "rules[0].example: a scope: trace rule scores a whole",
        ),
        ({"scope": "trace", "session_keys": ["a"]}, "rules[0].session_keys: only a scope: session rule"),
        ({"scope": "session", "idle_s": 5}, "rules[0].idle_s: per-rule idle_s is for scope: trace"),
        ({"scope": "session", "session_keys": "a"}, "rules[0].session_keys: must be a list"),
        ({"scope": "pkg.scope", "instrumentation_scope": "x"}, "rules[0].scope: must be one of span, trace"),
        ({"scope": "session", "grace_s": 5}, "rules[0].grace_s: per-rule grace_s is for scope: trace"),
        ({"scope": "trace", "grace_s": 5, "idle_s": 5}, "rules[0].grace_s: give idle_s .* or grace_s"),
        ({"scope": "trace", "grace_s": -1}, "rules[0].grace_s: must be >= 0"),
    ],
)
def test_trajectory_rule_mistakes_name_the_key(
    make_config: Callable[..., EvaluatorConfig], rule: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_config({"rules": [{"name": "r", "scorer": LOOP_SCORER, **rule}]})
