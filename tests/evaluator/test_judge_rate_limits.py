"""The per-second bounds on LLM judge calls, end to end (issue 18, defect 4): a burst of spans against a
running evaluator and a local OpenAI-compatible judge. The judge's request log shows the bound held, every
span over it is exported with a ``limit`` error naming the setting, and each is counted in
``judgeval.evaluator.scoring.errors``. (The per-span bound is in ``test_hostile_scorer_input.py``.)

The rates are so low (one call per 100 s) that only the bucket's first token can be spent while a test
runs, however slow the machine: the counts are exact without timing anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from judgeval import semconv
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing.openai_server import RecordedOpenAIServer, Recording
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.scoring.rate_budget import TokenBucket, reserve_together
from tests.support.evaluator import export, metric_points, running, wait_drained, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

EXAMPLE = {"input": "Where is my parcel?", "actual_output": "It ships tomorrow."}
SLOW = 0.01
"""Calls per second: one token in the bucket, the next one 100 s away."""


@pytest.fixture
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedOpenAIServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with RecordedOpenAIServer([Recording(match=[""], answer='{"score": 1, "reason": "ok"}')]) as server:
        yield server


def judge_doc(server: RecordedOpenAIServer, scorers: list[dict[str, Any]] | None = None,
              **scoring: Any) -> dict[str, Any]:
    return {"judge": {"base_url": server.base_url, "model": "judge-model"}, "scorers": scorers or [],
            "scoring": {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5,
                        "judge_rate_wait_s": 1, **scoring}}


async def burst(make_config, receiver, doc: dict[str, Any], spans: list[Any]) -> tuple[list[Any], Counter]:
    """Export ``spans`` in one request; the exported spans and the scoring errors by (scorer, kind)."""
    reader = InMemoryMetricReader()
    async with running(make_config(doc), metric_readers=[reader]) as app:
        await export(app, make_request(spans))
        received = await wait_for(receiver, lambda got: len(got) >= len(spans))
        await wait_drained(app)
        points = metric_points(reader)
    errors: Counter = Counter()
    for point in points.get(semconv.METRIC_SCORING_ERRORS, []):
        errors[point.attributes["scorer"], point.attributes["kind"]] += point.value
    return received, errors


def outcomes(spans: list[Any], scorer: str) -> Counter:
    """How the spans' requests to ``scorer`` ended: ``scored`` or the error's first words."""
    ended: Counter = Counter()
    for span in spans:
        error = span.attributes.get(score_attribute(scorer, ScoreField.ERROR))
        if error is None and score_attribute(scorer, ScoreField.VALUE) in span.attributes:
            ended["scored"] += 1
        elif error is not None:
            ended[error.split(" would wait")[0]] += 1
    return ended


async def test_calls_over_the_rate_of_all_judges_end_with_a_limit_error(make_config, receiver, judge):
    spans = [make_span(f"burst-{i}", tagged_attributes(("answer_relevancy", EXAMPLE))) for i in range(8)]
    doc = judge_doc(judge, judge_calls_per_s=SLOW, judge_calls_per_s_per_scorer=1000)
    received, errors = await burst(make_config, receiver, doc, spans)
    assert len(judge.requests) == 1  # the bucket's one token; the next is 100 s away
    assert outcomes(received, "answer_relevancy") == {
        "scored": 1,
        "limit: not run: all LLM judges together (scoring.judge_calls_per_s) may make 0.01 calls per second,"
        " and this call": 7,
    }
    limited = [s for s in received if score_attribute("answer_relevancy", ScoreField.ERROR) in s.attributes]
    for span in limited:  # the span-level verdict says it too
        assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.FAILED
        assert span.attributes[semconv.JUDGEVAL_EVAL_ERROR].endswith(
            "would wait more than 1s (scoring.judge_rate_wait_s)")
    assert errors == {("answer_relevancy", "limit"): 7}


async def test_each_judge_scorer_has_its_own_rate(make_config, receiver, judge):
    # "lenient" has a rate_limit of its own; the built-in answer_relevancy takes the per-scorer default.
    lenient = {"name": "lenient", "type": "answer_relevancy", "rate_limit": 1000}
    spans = [make_span(f"both-{i}", tagged_attributes(("answer_relevancy", EXAMPLE), ("lenient", EXAMPLE)))
             for i in range(5)]
    doc = judge_doc(judge, [lenient], judge_calls_per_s=1000, judge_calls_per_s_per_scorer=SLOW)
    received, errors = await burst(make_config, receiver, doc, spans)
    assert len(judge.requests) == 1 + 5
    assert outcomes(received, "lenient") == {"scored": 5}
    assert outcomes(received, "answer_relevancy") == {
        "scored": 1,
        "limit: not run: judge 'answer_relevancy' (its rate_limit or scoring.judge_calls_per_s_per_scorer)"
        " may make 0.01 calls per second, and this call": 4,
    }
    assert errors == {("answer_relevancy", "limit"): 4}
    statuses = Counter(s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in received)
    assert statuses[semconv.EvalStatus.PARTIAL] == 4  # one request judged, one refused: the span says so


async def test_calls_within_the_wait_are_made_in_turn(make_config, receiver, judge):
    spans = [make_span(f"patient-{i}", tagged_attributes(("answer_relevancy", EXAMPLE))) for i in range(4)]
    # 4 calls at 20/s with a burst of one token: the last waits about 0.15 s, well within the wait.
    doc = judge_doc(judge, judge_calls_per_s=20, judge_calls_per_s_per_scorer=1000, judge_rate_wait_s=60)
    received, errors = await burst(make_config, receiver, doc, spans)
    assert len(judge.requests) == 4
    assert outcomes(received, "answer_relevancy") == {"scored": 4}
    assert errors == {}


def test_a_refused_reservation_takes_nothing():
    now = [0.0]
    fast, slow = TokenBucket(10, clock=lambda: now[0]), TokenBucket(1, clock=lambda: now[0])
    assert reserve_together((fast, slow), 0.5) == 0.0  # both had a token
    assert reserve_together((fast, slow), 0.5) is slow  # slow's next token is 1 s away
    assert fast.wait_s() == 0.0  # fast kept its tokens: nothing was reserved for the refused call
    now[0] = 0.6
    assert reserve_together((fast, slow), 0.5) == pytest.approx(0.4)  # due at 1.0: reserved, wait 0.4
    assert slow.wait_s() == pytest.approx(1.4)  # the next one queues behind that reservation
