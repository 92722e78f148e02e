"""A scorer of the other kind fails the request with ``wrong_kind`` and says how to request it: trajectory
scorers named by spans (async_evaluate), span scorers named by trajectory requests."""

from __future__ import annotations

import pytest
from judgeval import semconv
from judgeval.semconv import EvalStatus

from evaluator_service.scoring.contract import ScorerKindError
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import by_name, make_request, make_span, tagged_attributes

from .fixtures import clean_trace, request

YAML = {"scorers": [
    {"name": "no_loops", "type": "tool_loop", "options": {"max_repeats": 2}},
    {"name": "order_id_present", "type": "regex", "options": {"pattern": "#\\d+"}},
]}


async def test_a_span_request_for_a_trajectory_scorer_fails_with_wrong_kind(make_config, receiver):
    spans = [make_span("by-type", tagged_attributes(("tool_loop", {"actual_output": "x"}))),
             make_span("by-yaml-name", tagged_attributes(("no_loops", {"actual_output": "x"}))),
             make_span("span-scorer",
                       tagged_attributes(("order_id_present", {"actual_output": "order #12"})))]
    async with running(make_config(YAML)) as app:
        await export(app, make_request(spans))
        received = await wait_for(receiver, lambda s: len(s) >= 3)
    for name, scorer in (("by-type", "tool_loop"), ("by-yaml-name", "no_loops")):
        attributes = by_name(received, name).attributes
        assert attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED.value
        error = attributes[semconv.JUDGEVAL_EVAL_ERROR]
        assert f"{scorer}: wrong_kind: scorer {scorer!r} is a trajectory scorer" in error
        assert "TraceScorerConfig" in error and "scope: trace" in error
    status = by_name(received, "span-scorer").attributes[semconv.JUDGEVAL_EVAL_STATUS]
    assert status == EvalStatus.SCORED.value


async def test_a_trajectory_request_for_a_span_scorer_fails_with_wrong_kind(make_config):
    async with running(make_config(YAML)) as app:
        for name, what in (("order_id_present", "a regex scorer from the evaluator config"),
                           ("faithfulness", "the built-in faithfulness")):
            scorer = app.trajectory_scorers.resolve(request(name).scorer)
            assert scorer is not None
            with pytest.raises(ScorerKindError) as caught:
                await scorer.score_trajectory(clean_trace(), request(name))
            assert caught.value.kind == "wrong_kind"
            assert str(caught.value).startswith(f"scorer {name!r} is a span scorer ({what})")
        configured = app.trajectory_scorers.resolve(request("no_loops").scorer)
        assert configured is not None
        assert (await configured.score_trajectory(clean_trace(), request("no_loops"))).value == 1.0
        assert app.trajectory_scorers.resolve(request("nobody").scorer) is None
