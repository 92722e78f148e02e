"""``with_raw_response`` / ``with_streaming_response`` through ``wrap(OpenAI())``: the span records the answer
that ``.parse()`` gives the user, exactly as for a plain call, without reading the user's body or stream."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from judgeval import semconv
from judgeval.testing import RecordedOpenAIServer, Recording
from judgeval.tracer import Tracer, wrap
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.llm_spans import answer_attributes, client_resource, only_span, plain_answer

HELLO = [{"role": "user", "content": "hi"}]

# Each operation: the resource's name on the client, and its request arguments.
OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("chat.completions", {"model": "m", "messages": HELLO}),
    "responses": ("responses", {"model": "m", "input": "hi"}),
    "embeddings": ("embeddings", {"model": "e", "input": "hi"}),
}
STREAMABLE = ("chat", "responses")


@pytest.fixture
def llm() -> Iterator[RecordedOpenAIServer]:
    with RecordedOpenAIServer([Recording(answer="Hello there my friend", cached_tokens=2)]) as server:
        yield server


def _plain_answer(
    client: openai.OpenAI, exporter: InMemorySpanExporter, operation: str, **extra: Any
) -> dict[str, Any]:
    """The attributes of the same call made plainly (the reference), then forgotten."""
    path, kwargs = OPERATIONS[operation]
    return plain_answer(exporter, client_resource(client, path).create, **kwargs, **extra)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_with_raw_response_records_what_parse_returns(
    client: openai.OpenAI, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer, operation: str
):
    plain = _plain_answer(client, exporter, operation)
    path, kwargs = OPERATIONS[operation]
    raw = client_resource(client, path).with_raw_response.create(**kwargs)
    span = only_span(exporter)  # ended with the call, like a plain call
    parsed = raw.parse()
    assert raw.parse() is parsed  # the SDK's cached answer: parsed once for both
    assert raw.headers["content-type"].startswith("application/json")
    assert answer_attributes(span) == plain
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS in span.attributes
    if operation != "embeddings":
        assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == parsed.id
        assert json.loads(span.attributes[semconv.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == (
            "Hello there my friend"
        )
    assert len(llm.requests) == 2


@pytest.mark.parametrize("operation", OPERATIONS)
def test_with_streaming_response_records_on_parse_and_ends_with_the_block(
    client: openai.OpenAI, exporter: InMemorySpanExporter, operation: str
):
    plain = _plain_answer(client, exporter, operation)
    path, kwargs = OPERATIONS[operation]
    with client_resource(client, path).with_streaming_response.create(**kwargs) as response:
        parsed = response.parse()
        assert response.parse() is parsed
        assert exporter.get_finished_spans() == ()
    span = only_span(exporter)
    assert answer_attributes(span) == plain
    if operation != "embeddings":
        assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == parsed.id


def test_with_streaming_response_read_as_json_is_recorded_on_close(
    client: openai.OpenAI, exporter: InMemorySpanExporter
):
    plain = _plain_answer(client, exporter, "chat")
    with client.chat.completions.with_streaming_response.create(model="m", messages=HELLO) as response:
        body = response.json()
    span = only_span(exporter)
    assert answer_attributes(span) == plain
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == body["id"]


def test_unread_streaming_response_is_left_to_the_user(client: openai.OpenAI, exporter: InMemorySpanExporter):
    with client.chat.completions.with_streaming_response.create(
        model="m", messages=HELLO, stream=True
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: {")]
    assert len(lines) > 3  # every event reached the user: we read nothing of the body
    span = only_span(exporter)
    assert span.attributes[semconv.JUDGEVAL_LLM_STREAMED] is True
    assert semconv.GEN_AI_OUTPUT_MESSAGES not in span.attributes


def _raw_stream(resource: Any, kwargs: dict[str, Any]) -> Iterator[Any]:
    stream = resource.with_raw_response.create(**kwargs, stream=True).parse()
    yield from stream


def _streaming_response_stream(resource: Any, kwargs: dict[str, Any]) -> Iterator[Any]:
    with resource.with_streaming_response.create(**kwargs, stream=True) as response:
        yield from response.parse()


@pytest.mark.parametrize("operation", STREAMABLE)
@pytest.mark.parametrize("call", [_raw_stream, _streaming_response_stream], ids=["raw", "streaming"])
def test_streamed_raw_responses_record_the_stream_the_user_reads(
    client: openai.OpenAI, exporter: InMemorySpanExporter, operation: str, call: Callable[..., Iterator[Any]]
):
    plain = _plain_answer(client, exporter, operation, stream=True)
    path, kwargs = OPERATIONS[operation]
    events = list(call(client_resource(client, path), kwargs))
    assert len(events) > 3  # the user got the whole stream
    span = only_span(exporter)
    assert answer_attributes(span) == plain
    assert span.attributes[semconv.JUDGEVAL_LLM_STREAMED] is True


def test_views_read_before_wrap_are_traced(
    judgment: Tracer, llm: RecordedOpenAIServer, exporter: InMemorySpanExporter
):
    client = openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0)
    assert client.chat.completions.with_raw_response is client.chat.completions.with_raw_response  # cached
    assert client.with_raw_response.chat.completions is client.with_raw_response.chat.completions
    wrap(client, tracer=judgment)
    client.chat.completions.with_raw_response.create(model="m", messages=HELLO)
    client.with_raw_response.chat.completions.create(model="m", messages=HELLO)
    spans = exporter.get_finished_spans()
    assert len(spans) == 2
    assert all(semconv.GEN_AI_OUTPUT_MESSAGES in span.attributes for span in spans)


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_async_raw_and_streaming_responses_record_the_answer(
    client: openai.OpenAI,
    async_client: openai.AsyncOpenAI,
    exporter: InMemorySpanExporter,
    operation: str,
):
    plain = _plain_answer(client, exporter, operation)
    path, kwargs = OPERATIONS[operation]
    raw = await client_resource(async_client, path).with_raw_response.create(**kwargs)
    assert answer_attributes(only_span(exporter)) == plain
    assert raw.parse() is raw.parse()
    exporter.clear()
    async with client_resource(async_client, path).with_streaming_response.create(**kwargs) as response:
        await response.parse()
        assert exporter.get_finished_spans() == ()
    assert answer_attributes(only_span(exporter)) == plain


@pytest.mark.parametrize("operation", STREAMABLE)
async def test_async_streamed_raw_responses_record_the_stream(
    client: openai.OpenAI, async_client: openai.AsyncOpenAI, exporter: InMemorySpanExporter, operation: str
):
    plain = _plain_answer(client, exporter, operation, stream=True)
    path, kwargs = OPERATIONS[operation]
    raw = await client_resource(async_client, path).with_raw_response.create(**kwargs, stream=True)
    stream = raw.parse()
    assert len([event async for event in stream]) > 3
    assert answer_attributes(only_span(exporter)) == plain
    exporter.clear()
    async with client_resource(async_client, path).with_streaming_response.create(
        **kwargs, stream=True
    ) as response:
        assert len([event async for event in await response.parse()]) > 3
    assert answer_attributes(only_span(exporter)) == plain
