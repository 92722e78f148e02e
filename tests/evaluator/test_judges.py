"""LLM-judge scorers end to end against a recorded OpenAI-compatible server: prompts, parsing, field
mapping, timeouts, retries on 429 and pausing on auth failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from judgeval import semconv
from judgeval.semconv import EvalStatus, ScoreField, score_attribute
from judgeval.testing import RecordedOpenAIServer, Recording

from tests.support.evaluator import export, running, wait_for
from tests.support.spans import by_name, make_request, make_span, tagged_attributes

RECORDINGS = [
    Recording(
        match=["answer relevancy", "where is my parcel"], answer='{"score": 0.9, "reason": "on topic"}'
    ),
    Recording(
        match=["faithfulness", "ships in 2 days"], answer='Sure: {"score": 0.25, "reason": "invented"}'
    ),
    Recording(match=["instruction adherence", "answer in french"], answer="YES, it is in French."),
    Recording(match=["rate the politeness"], answer="8"),
    Recording(match=["slow question"], answer='{"score": 1}', delay_ms=1500),
    Recording(match=["flaky question"], status=429, times=2),
    Recording(match=["flaky question"], answer='{"score": 0.7, "reason": "fine after retries"}'),
    Recording(match=["locked question"], status=401),
]


@pytest.fixture
def judge_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedOpenAIServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with RecordedOpenAIServer(RECORDINGS) as server:
        yield server


def judge_config(server: RecordedOpenAIServer, scorers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"judge": {"base_url": server.base_url, "model": "judge-model"}, "scorers": scorers or []}


def prompts(server: RecordedOpenAIServer, needle: str) -> list[str]:
    texts = [m["content"] for body in server.requests for m in body.get("messages", [])]
    return [t for t in texts if needle in t]


async def test_builtin_judges_score_by_name(make_config, receiver, judge_server):
    spans = [
        make_span(
            "relevancy",
            tagged_attributes(
                ("answer_relevancy", {"input": "Where is my parcel?", "actual_output": "It arrives Monday."})
            ),
        ),
        make_span(
            "faithfulness",
            tagged_attributes(
                (
                    "faithfulness",
                    {"retrieval_context": ["Orders ship in 5 days."], "actual_output": "It ships in 2 days."},
                )
            ),
        ),
        make_span(
            "adherence",
            tagged_attributes(
                ("instruction_adherence", {"input": "Answer in French.", "actual_output": "Bonjour"})
            ),
        ),
    ]
    async with running(make_config(judge_config(judge_server))) as app:
        await export(app, make_request(spans))
        received = await wait_for(receiver, lambda s: len(s) == 3)
    relevancy = by_name(received, "relevancy").attributes
    assert relevancy[score_attribute("answer_relevancy", ScoreField.VALUE)] == 0.9
    assert relevancy[score_attribute("answer_relevancy", ScoreField.REASON)] == "on topic"
    assert relevancy[semconv.JUDGEVAL_EVAL_SUCCESS] is True
    faithful = by_name(received, "faithfulness").attributes
    assert faithful[score_attribute("faithfulness", ScoreField.VALUE)] == 0.25
    assert faithful[semconv.JUDGEVAL_EVAL_SUCCESS] is False
    assert faithful[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert (
        by_name(received, "adherence").attributes[score_attribute("instruction_adherence", ScoreField.VALUE)]
        == 1.0
    )
    assert "Orders ship in 5 days." in prompts(judge_server, "faithfulness")[0]
    assert {body["model"] for body in judge_server.requests} == {"judge-model"}


async def test_prompt_judge_fills_template_from_mapped_fields_and_scales(make_config, receiver, judge_server):
    scorer = {
        "name": "Politeness",
        "type": "prompt_judge",
        "fields": {"actual_output": "reply"},
        "options": {
            "template": "Rate the politeness of this reply from 0 to 10: {actual_output}",
            "scale": 10,
        },
    }
    span = make_span("polite", tagged_attributes(("Politeness", {"reply": "Thank you kindly!"})))
    async with running(make_config(judge_config(judge_server, [scorer]))) as app:
        await export(app, make_request([span]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert received[0].attributes[score_attribute("Politeness", ScoreField.VALUE)] == pytest.approx(0.8)
    assert prompts(judge_server, "politeness") == [
        "Rate the politeness of this reply from 0 to 10: Thank you kindly!"
    ]


async def test_judge_timeout_exports_span_failed(make_config, receiver, judge_server):
    scorer = {"name": "slow_judge", "type": "answer_relevancy", "timeout_s": 0.2, "max_retries": 0}
    example = {"input": "slow question", "actual_output": "..."}
    span = make_span("slow", tagged_attributes(("slow_judge", example)))
    async with running(make_config(judge_config(judge_server, [scorer]))) as app:
        await export(app, make_request([span]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    attrs = received[0].attributes
    assert attrs[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    assert "slow_judge: timeout: no answer within 0.2s" in attrs[semconv.JUDGEVAL_EVAL_ERROR]


async def test_judge_rate_limited_twice_then_succeeds(make_config, receiver, judge_server):
    example = {"input": "flaky question", "actual_output": "an answer"}
    span = make_span("flaky", tagged_attributes(("answer_relevancy", example)))
    async with running(make_config(judge_config(judge_server))) as app:
        await export(app, make_request([span]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    attrs = received[0].attributes
    assert attrs[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert attrs[score_attribute("answer_relevancy", ScoreField.VALUE)] == 0.7
    assert len(prompts(judge_server, "flaky question")) == 3


async def test_auth_failure_pauses_scorer_durably_until_resumed(
    make_config, receiver, judge_server, tmp_path
):
    scorer = {"name": "locked_judge", "type": "answer_relevancy"}
    config = make_config(judge_config(judge_server, [scorer]), data_dir=tmp_path / "paused")
    example = {"input": "locked question", "actual_output": "x"}
    async with running(config) as app:
        await export(app, make_request([make_span("first", tagged_attributes(("locked_judge", example)))]))
        first = (await wait_for(receiver, lambda s: len(s) == 1))[0]
        await export(app, make_request([make_span("second", tagged_attributes(("locked_judge", example)))]))
        await wait_for(receiver, lambda s: len(s) == 2)
        assert [p.name for p in app.pauses.list_paused()] == ["locked_judge"]
    assert first.attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    assert "locked_judge: auth: judge answered HTTP 401" in first.attributes[semconv.JUDGEVAL_EVAL_ERROR]
    second = by_name(receiver.spans, "second")
    assert "locked_judge: paused: scorer is paused" in second.attributes[semconv.JUDGEVAL_EVAL_ERROR]
    assert len(prompts(judge_server, "locked question")) == 1  # paused: the judge was not called again
    judge_server.recordings.insert(
        0, Recording(match=["locked question"], answer='{"score": 1}')
    )  # key fixed
    async with running(config) as app:
        assert [p.name for p in app.pauses.list_paused()] == ["locked_judge"]
        assert await app.pauses.resume("locked_judge") is True
        await export(app, make_request([make_span("third", tagged_attributes(("locked_judge", example)))]))
        await wait_for(receiver, lambda s: len(s) == 3)
        assert app.pauses.list_paused() == []
    assert by_name(receiver.spans, "third").attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert len(prompts(judge_server, "locked question")) == 2


async def test_missing_judge_key_fails_and_pauses_with_actionable_reason(make_config, receiver, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    span = make_span("no-key", tagged_attributes(("answer_relevancy", {"input": "q", "actual_output": "a"})))
    async with running(make_config({"judge": {"base_url": "http://127.0.0.1:9/v1"}})) as app:
        await export(app, make_request([span]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert "OPENAI_API_KEY (judge API key) is not set" in received[0].attributes[semconv.JUDGEVAL_EVAL_ERROR]


def test_recordings_are_plain_json() -> None:
    # The recorded answers double as documentation of the judge answer format.
    assert json.loads(RECORDINGS[0].answer) == {"score": 0.9, "reason": "on topic"}
