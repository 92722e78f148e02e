"""Issue 18, defect 1: a span that cannot be scored is exported marked failed, counted as a dead letter,
and never blocks the tagged spans behind it, also after a restart and when sent again and again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.semconv import EvalStatus, ScoreField, score_attribute
from judgeval.testing.otlp_receiver import ReceivedSpan
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.queue import DB_FILE_NAME, NewSpan, SpanQueue, SpanState
from evaluator_service.scoring.contract import ScoreOutcome, Scorer
from tests.support.evaluator import export, metric_points, running, wait_drained, wait_for
from tests.support.spans import by_name, make_request, make_span, tagged_attributes

CANARIES = 5


def _payload_attributes(payload: str) -> dict[str, Any]:
    return {semconv.JUDGEVAL_EVAL_STATUS: EvalStatus.PENDING.value, semconv.JUDGEVAL_EVAL_REQUESTS: payload}


_PII = '{"v":1,"scorer":{"name":"pii"%s},"example":%s}'
POISON_PAYLOADS = {
    "deeply nested JSON": "[" * 100_000 + "]" * 100_000,
    "nested example": "[" + _PII % ("", '{"actual_output":' + "[" * 50_000 + "]" * 50_000 + "}") + "]",
    "integer with thousands of digits": "[" + _PII % ("", '{"actual_output":' + "9" * 5000 + "}") + "]",
    "absurd threshold": "[" + _PII % (',"threshold":1' + "0" * 400, '{"actual_output":"x"}') + "]",
    "absurd sampling rate": '[{"v":1,"scorer":{"name":"pii"},"sampling_rate":-1' + "0" * 400 + "}]",
}


def canaries() -> list[Any]:
    return [make_span(f"canary-{i}", tagged_attributes(("pii", {"actual_output": "clean"})))
            for i in range(CANARIES)]


def assert_canaries_scored(received: list[ReceivedSpan]) -> None:
    for i in range(CANARIES):
        attrs = by_name(received, f"canary-{i}").attributes
        assert attrs[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
        assert attrs[score_attribute("pii", ScoreField.VALUE)] == 1.0


def dead_letters(reader: InMemoryMetricReader) -> dict[tuple[str, str], int]:
    points = metric_points(reader).get(semconv.METRIC_SPANS_DEAD_LETTERED, [])
    return {(p.attributes["stage"], p.attributes["outcome"]): p.value for p in points}


@pytest.mark.parametrize("payload", list(POISON_PAYLOADS.values()), ids=list(POISON_PAYLOADS))
async def test_a_poison_payload_is_exported_failed_and_the_spans_behind_it_are_scored(
    make_config, receiver, payload
):
    reader = InMemoryMetricReader()
    async with running(make_config(), metric_readers=[reader]) as app:
        await export(app, make_request([make_span("poison", _payload_attributes(payload))]))
        await export(app, make_request(canaries()))
        received = await wait_for(receiver, lambda s: len(s) == CANARIES + 1)
        await wait_drained(app)
        counted = dead_letters(reader)
    poison = by_name(received, "poison").attributes
    assert poison[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    assert poison[semconv.JUDGEVAL_EVAL_ERROR].startswith(f"invalid {semconv.JUDGEVAL_EVAL_REQUESTS}: ")
    assert counted == {("decode", "marked_failed"): 1}
    assert_canaries_scored(received)


async def test_a_lone_surrogate_escape_does_not_take_its_neighbours_with_it(make_config, receiver):
    payload = '[{"scorer":{"name":"pii \\ud800"},"example":{"actual_output":"\\udfff"}}]'
    spans = [make_span("surrogate", _payload_attributes(payload)), *canaries()]
    async with running(make_config()) as app:
        await export(app, make_request(spans))  # one request, one packed row
        received = await wait_for(receiver, lambda s: len(s) == CANARIES + 1)
    surrogate = by_name(received, "surrogate").attributes
    assert surrogate[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    assert surrogate[semconv.JUDGEVAL_EVAL_ERROR].startswith("pii \ufffd: unknown_scorer")
    assert_canaries_scored(received)


class SurrogateScorer:
    """Answers (or raises) with a reason holding a lone surrogate, which protobuf cannot encode."""

    def __init__(self, name: str, raises: bool) -> None:
        self.name = name
        self._raises = raises

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        if self._raises:
            raise ValueError("broken \udc80 reason")
        return ScoreOutcome(value=0.2, reason="bad \ud800 reason", label="odd \udfff label")


class NonNumberScorer:
    """A plug-in returning a value that is no number: no stage after it can handle it."""

    name = "not a number"

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        return ScoreOutcome(value="high")  # type: ignore[arg-type]


class Plugins:
    def __init__(self) -> None:
        self.scorers: dict[str, Scorer] = {
            "surrogate \udc00 returned": SurrogateScorer("surrogate \udc00 returned", raises=False),
            "surrogate raised": SurrogateScorer("surrogate raised", raises=True),
            "not a number": NonNumberScorer(),
        }

    def resolve(self, ref: ScorerRef) -> Scorer | None:
        return self.scorers.get(ref.name)


@pytest.mark.parametrize("behaviors", [False, True], ids=["behaviors off", "behaviors on"])
async def test_a_scorer_answering_with_a_lone_surrogate_still_gets_its_span_delivered(
    make_config, receiver, behaviors
):
    spans = [
        make_span("returned", tagged_attributes(("surrogate \udc00 returned", {}))),
        make_span("raised", tagged_attributes(("surrogate raised", {}))),
        *canaries(),
    ]
    async with running(make_config({"behaviors": {"enabled": behaviors}}), scorer_sources=[Plugins()]) as app:
        await export(app, make_request(spans[:1]))
        await export(app, make_request(spans[1:]))
        received = await wait_for(receiver, lambda s: len(s) == CANARIES + 2)
    returned = by_name(received, "returned").attributes
    assert returned[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert returned[score_attribute("surrogate \ufffd returned", ScoreField.REASON)] == "bad \ufffd reason"
    raised = by_name(received, "raised").attributes
    assert raised[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    assert "ValueError: broken \ufffd reason" in raised[semconv.JUDGEVAL_EVAL_ERROR]
    assert_canaries_scored(received)


async def test_a_span_whose_score_cannot_be_handled_is_exported_failed_and_counted(make_config, receiver):
    reader = InMemoryMetricReader()
    spans = [make_span("unwritable", tagged_attributes(("not a number", {}))), *canaries()]
    async with running(make_config(), scorer_sources=[Plugins()], metric_readers=[reader]) as app:
        await export(app, make_request(spans))
        received = await wait_for(receiver, lambda s: len(s) == CANARIES + 1)
        await wait_drained(app)
        counted = dead_letters(reader)
    unwritable = by_name(received, "unwritable").attributes
    assert unwritable[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    # Whichever stage first trips over the non-numeric value (scoring, behavior placement, enrichment)
    # dead-letters the span, naming itself.
    stage, outcome = next(iter(counted))
    assert counted == {(stage, outcome): 1} and outcome == "marked_failed"
    assert unwritable[semconv.JUDGEVAL_EVAL_ERROR].startswith("span could not be ")
    assert "TypeError" in unwritable[semconv.JUDGEVAL_EVAL_ERROR]
    assert not any(value == EvalStatus.PENDING for value in unwritable.values())
    assert_canaries_scored(received)


async def test_a_poison_span_queued_before_a_restart_does_not_block_the_next_run(
    make_config, receiver, tmp_path
):
    data_dir = tmp_path / "data"
    poison = make_span("poison", _payload_attributes(POISON_PAYLOADS["deeply nested JSON"]))
    await _enqueue_directly(data_dir, [poison, *canaries()])
    async with running(make_config(data_dir=data_dir)) as app:
        received = await wait_for(receiver, lambda s: len(s) == CANARIES + 1)
        await wait_drained(app)
    assert by_name(received, "poison").attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    assert_canaries_scored(received)


async def _enqueue_directly(data_dir: Path, spans: list[Any]) -> None:
    """Rows as an earlier run of the evaluator left them in its queue file."""
    request = make_request(spans)
    resource_spans = request.resource_spans[0]
    scope_spans = resource_spans.scope_spans[0]
    resource = type(resource_spans)(resource=resource_spans.resource).SerializeToString()
    scope = type(scope_spans)(scope=scope_spans.scope).SerializeToString()
    queue = await SpanQueue.open(data_dir, 1000, 1 << 30)
    try:
        await queue.enqueue([NewSpan(SpanState.SCORE, resource, scope, s.SerializeToString()) for s in spans])
    finally:
        await queue.close()
    assert (data_dir / DB_FILE_NAME).exists()


async def test_poison_sent_again_and_again_never_fills_the_queue(make_config, receiver):
    limit = 20
    poison = POISON_PAYLOADS["integer with thousands of digits"]
    async with running(make_config({"queue": {"max_spans": limit}})) as app:
        for i in range(3 * limit):
            if app.store.span_count >= limit - 1:
                await wait_drained(app)  # on a stuck queue this times out
            await export(app, make_request([make_span(f"poison-{i}", _payload_attributes(poison))]))
        await export(app, make_request(canaries()))
        received = await wait_for(receiver, lambda s: len(s) == 3 * limit + CANARIES)
    assert sum(s.attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED for s in received) == 3 * limit
    assert_canaries_scored(received)
