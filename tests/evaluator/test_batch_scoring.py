"""Batched scoring: inline (deterministic) scorers, waiting scorers and unreadable payloads mixed in one
batch larger than the dispatcher reads at once; every span leaves exactly once, correctly enriched."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.semconv import EvalStatus, ScoreField, score_attribute
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.dispatcher import SCORING_BATCH
from evaluator_service.scoring.contract import ScoreOutcome, Scorer
from tests.support.evaluator import export, metric_points, running, wait_drained, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

KEYWORD = {"name": "order_mentioned", "type": "keyword", "options": {"keywords": ["order"]}}


class WaitingScorer:
    """An async plug-in that really waits (like a judge), so its spans take the task path."""

    name = "waiting"

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        await asyncio.sleep(0.001)
        return ScoreOutcome(value=0.75, reason="waited")


class FalselyInlineScorer:
    """Claims ``inline`` but awaits anyway: the runner must fall back to the async path, not lose it."""

    name = "falsely_inline"
    inline = True

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        await asyncio.sleep(0)
        return ScoreOutcome(value=1.0, reason="awaited after all")


class Plugins:
    def resolve(self, ref: ScorerRef) -> Scorer | None:
        return {"waiting": WaitingScorer(), "falsely_inline": FalselyInlineScorer()}.get(ref.name)


def _span(index: int) -> Any:
    example = {"actual_output": f"order {index}" if index % 2 else f"nothing {index}"}
    kind = index % 5
    if kind == 0:
        attributes: dict[str, Any] = {}
    elif kind == 1:
        attributes = tagged_attributes(("order_mentioned", example))
    elif kind == 2:
        attributes = tagged_attributes(("order_mentioned", example), ("waiting", example))
    elif kind == 3:
        attributes = tagged_attributes(("falsely_inline", example))
    else:
        attributes = {semconv.JUDGEVAL_EVAL_STATUS: EvalStatus.PENDING.value,
                      semconv.JUDGEVAL_EVAL_REQUESTS: "not json"}
    return make_span(f"span-{index}", attributes)


async def test_a_mixed_backlog_is_scored_once_each(make_config, receiver):
    count = 2 * SCORING_BATCH + 37
    config = make_config({"scorers": [KEYWORD]})
    async with running(config, scorer_sources=[Plugins()]) as app:
        for start in range(0, count, 100):
            await export(app, make_request([_span(i) for i in range(start, min(start + 100, count))]))
        spans = await wait_for(receiver, lambda got: len(got) >= count)
        await wait_drained(app)
    assert Counter(s.name for s in spans) == Counter(f"span-{i}" for i in range(count))
    by_name = {s.name: s for s in spans}
    key_value = score_attribute("order_mentioned", ScoreField.VALUE)
    for index in range(count):
        span = by_name[f"span-{index}"]
        status = span.attributes.get(semconv.JUDGEVAL_EVAL_STATUS)
        kind = index % 5
        if kind == 0:
            assert status == EvalStatus.NOT_SELECTED.value and not span.events
            continue
        assert span.attributes[semconv.JUDGEVAL_EVAL_EVALUATOR].endswith(f":{app.port}")
        if kind in (1, 2):
            assert status == EvalStatus.SCORED.value
            assert span.attributes[key_value] == (1.0 if index % 2 else 0.0)
        if kind == 2:
            assert span.attributes[score_attribute("waiting", ScoreField.VALUE)] == 0.75
            assert [name for name, _ in span.events] == [semconv.GEN_AI_EVALUATION_RESULT_EVENT] * 2
        if kind == 3:
            assert status == EvalStatus.SCORED.value
            reason = span.attributes[score_attribute("falsely_inline", ScoreField.REASON)]
            assert reason == "awaited after all"
        if kind == 4:
            assert status == EvalStatus.FAILED.value
            assert "invalid" in span.attributes[semconv.JUDGEVAL_EVAL_ERROR]


async def test_a_span_put_back_to_wait_is_measured_once(make_config, receiver):
    """A span of a packed row that must wait goes back to the queue and its inline scorers run again:
    their metrics must count it once."""
    reader = InMemoryMetricReader()
    example = {"actual_output": "order 1"}
    spans = [make_span("inline-only", tagged_attributes(("order_mentioned", example))),
             make_span("mixed", tagged_attributes(("order_mentioned", example), ("waiting", example)))]
    config = make_config({"scorers": [KEYWORD]})
    async with running(config, scorer_sources=[Plugins()], metric_readers=[reader]) as app:
        await export(app, make_request(spans))
        await wait_for(receiver, lambda got: len(got) == 2)
        await wait_drained(app)
        points = metric_points(reader)
    counts = {p.attributes["scorer"]: p.count for p in points[semconv.METRIC_SCORE_VALUE]}
    assert counts == {"order_mentioned": 2, "waiting": 1}
    durations = {p.attributes["scorer"]: p.count for p in points[semconv.METRIC_SCORING_DURATION]}
    assert durations == {"order_mentioned": 2, "waiting": 1}
