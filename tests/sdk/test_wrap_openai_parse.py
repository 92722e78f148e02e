"""Structured outputs through ``wrap(OpenAI())``: ``chat.completions.parse`` (also reached as
``beta.chat.completions``) and ``responses.parse``, plain, ``with_raw_response`` and (chat)
``with_streaming_response``, sync and async, make one LLM span with the answer, like ``create``. ``parse``
posts its request itself, so it is traced on its own, never through ``create``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pydantic
import pytest
from judgeval import semconv
from judgeval.testing import RecordedOpenAIServer, Recording
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.llm_spans import client_resource


class Forecast(pydantic.BaseModel):
    city: str
    celsius: int


ANSWER = Forecast(city="Oslo", celsius=-3)
QUESTION = "What is the weather in Oslo?"

# Each call: the resource on the client, its ``parse`` arguments, and the span name.
CALLS: dict[str, tuple[str, dict[str, Any], str]] = {
    "chat": (
        "chat.completions",
        {"model": "m", "messages": [{"role": "user", "content": QUESTION}], "response_format": Forecast},
        "chat m",
    ),
    "beta chat": (
        "beta.chat.completions",
        {"model": "m", "messages": [{"role": "user", "content": QUESTION}], "response_format": Forecast},
        "chat m",
    ),
    "responses": ("responses", {"model": "m", "input": QUESTION, "text_format": Forecast}, "chat m"),
}


@pytest.fixture
def llm() -> Iterator[RecordedOpenAIServer]:
    # The recorded answer is the JSON document the schema asks for, as a model in JSON mode answers.
    with RecordedOpenAIServer([Recording(match=["weather"], answer=ANSWER.model_dump_json())]) as server:
        yield server


def _parsed(answer: Any) -> Forecast:
    """The structured answer of a ``ParsedChatCompletion`` or ``ParsedResponse``."""
    parsed = answer.choices[0].message.parsed if hasattr(answer, "choices") else answer.output_parsed
    assert isinstance(parsed, Forecast)
    return parsed


def _assert_one_complete_span(exporter: InMemorySpanExporter, answer: Any, name: str) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    attrs = span.attributes
    assert span.name == name
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == answer.id
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == "m"
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert QUESTION in attrs[semconv.GEN_AI_INPUT_MESSAGES]
    (message,) = json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert Forecast.model_validate_json(message["parts"][0]["content"]) == ANSWER
    return span


@pytest.mark.parametrize("call", CALLS)
def test_parse_makes_one_span_with_the_answer(
    client: openai.OpenAI, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer, call: str
):
    path, kwargs, name = CALLS[call]
    answer = client_resource(client, path).parse(**kwargs)
    assert _parsed(answer) == ANSWER
    _assert_one_complete_span(exporter, answer, name)
    assert len(llm.requests) == 1


@pytest.mark.parametrize("call", CALLS)
def test_raw_parse_makes_one_span_with_the_answer(
    client: openai.OpenAI, exporter: InMemorySpanExporter, call: str
):
    path, kwargs, name = CALLS[call]
    raw = client_resource(client, path).with_raw_response.parse(**kwargs)
    answer = raw.parse()
    assert raw.parse() is answer  # the SDK's cached answer: parsed once for the span and the user
    assert _parsed(answer) == ANSWER
    _assert_one_complete_span(exporter, answer, name)


@pytest.mark.parametrize("call", CALLS)
async def test_async_parse_plain_and_raw_make_one_span_each(
    async_client: openai.AsyncOpenAI, exporter: InMemorySpanExporter, call: str
):
    path, kwargs, name = CALLS[call]
    answer = await client_resource(async_client, path).parse(**kwargs)
    assert _parsed(answer) == ANSWER
    _assert_one_complete_span(exporter, answer, name)
    exporter.clear()
    raw = await client_resource(async_client, path).with_raw_response.parse(**kwargs)
    answer = raw.parse()
    assert _parsed(answer) == ANSWER
    _assert_one_complete_span(exporter, answer, name)


def test_a_parse_the_user_gets_an_error_from_is_recorded_and_raised(
    client: openai.OpenAI, exporter: InMemorySpanExporter
):
    path, kwargs, _ = CALLS["chat"]
    kwargs = kwargs | {"messages": [{"role": "user", "content": "no recording matches this"}]}
    with pytest.raises(openai.NotFoundError):
        client_resource(client, path).parse(**kwargs)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code.name == "ERROR"


# openai has no responses.with_streaming_response.parse
@pytest.mark.parametrize("call", ["chat", "beta chat"])
def test_streaming_response_parse_records_on_parse_and_ends_with_the_block(
    client: openai.OpenAI, exporter: InMemorySpanExporter, call: str
):
    path, kwargs, name = CALLS[call]
    with client_resource(client, path).with_streaming_response.parse(**kwargs) as response:
        answer = response.parse()
        assert exporter.get_finished_spans() == ()  # the body is the user's to read first
    assert _parsed(answer) == ANSWER
    _assert_one_complete_span(exporter, answer, name)
