"""``wrap(OpenAI())`` with ``stream=True``: the span ends with the stream, carrying what was received."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import openai
import pytest
from judgeval import semconv
from judgeval.testing import RecordedOpenAIServer, Recording
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tests.support.llm_spans import only_span, output_messages

HELLO = [{"role": "user", "content": "hi"}]
WEATHER = [{"role": "user", "content": "weather in Paris and Rome?"}]
CALLS = [
    {
        "id": f"call_{i}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": f'{{"city": "{c}"}}'},
    }
    for i, c in enumerate(("Paris", "Rome"))
]


@pytest.fixture
def llm() -> Iterator[RecordedOpenAIServer]:
    recordings = [
        Recording(match=["weather"], tool_calls=CALLS, finish_reason="tool_calls"),
        Recording(match=["cut"], answer="never finished", stream_error="upstream overloaded"),
        Recording(answer="Hello there my friend", cached_tokens=2),
    ]
    with RecordedOpenAIServer(recordings) as server:
        yield server


def _text(chunks: list[openai.types.chat.ChatCompletionChunk]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def test_span_ends_when_stream_is_exhausted(client: openai.OpenAI, exporter: InMemorySpanExporter):
    stream = client.chat.completions.create(
        model="m", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    assert exporter.get_finished_spans() == ()
    assert _text(list(stream)) == "Hello there my friend"
    attrs = only_span(exporter).attributes
    assert attrs[semconv.JUDGEVAL_LLM_STREAMED] is True
    assert attrs[semconv.GEN_AI_RESPONSE_ID].startswith("chatcmpl-")
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == "m"
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    assert attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 2
    assert output_messages(only_span(exporter)) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello there my friend"}],
            "finish_reason": "stop",
        }
    ]


def test_stream_without_usage_has_no_token_counts(client: openai.OpenAI, exporter: InMemorySpanExporter):
    list(client.chat.completions.create(model="m", messages=HELLO, stream=True))
    attrs = only_span(exporter).attributes
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


def test_streamed_tool_call_deltas_are_accumulated(client: openai.OpenAI, exporter: InMemorySpanExporter):
    list(client.chat.completions.create(model="m", messages=WEATHER, stream=True))
    (message,) = output_messages(only_span(exporter))
    assert message["finish_reason"] == "tool_calls"
    assert message["parts"] == [
        {"type": "tool_call", "id": "call_0", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Rome"}},
    ]


def test_proxy_is_transparent_in_a_with_block(client: openai.OpenAI, exporter: InMemorySpanExporter):
    with client.chat.completions.create(model="m", messages=HELLO, stream=True) as stream:
        assert isinstance(stream, openai.Stream)
        assert stream.response.status_code == 200
        first = next(stream)
        assert first.choices[0].delta.role == "assistant"
        assert exporter.get_finished_spans() == ()
    assert only_span(exporter).status.status_code is StatusCode.UNSET


def test_stream_closed_early_ends_span_with_partial_output(
    client: openai.OpenAI, exporter: InMemorySpanExporter
):
    stream = client.chat.completions.create(model="m", messages=HELLO, stream=True)
    chunks = [next(stream), next(stream)]
    stream.close()
    assert _text(chunks) == "Hello"
    span = only_span(exporter)
    assert output_messages(span)[0]["parts"] == [{"type": "text", "content": "Hello"}]
    assert semconv.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes
    stream.close()  # closing twice ends nothing twice
    assert len(exporter.get_finished_spans()) == 1


def test_abandoned_stream_still_ends_its_span(client: openai.OpenAI, exporter: InMemorySpanExporter):
    stream = client.chat.completions.create(model="m", messages=HELLO, stream=True)
    next(stream)
    del stream
    gc.collect()
    assert only_span(exporter).attributes[semconv.JUDGEVAL_LLM_STREAMED] is True


async def test_async_stream_is_consumed_and_traced(
    async_client: openai.AsyncOpenAI, exporter: InMemorySpanExporter
):
    stream = await async_client.chat.completions.create(
        model="m", messages=WEATHER, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.AsyncStream)
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage is not None
    attrs = only_span(exporter).attributes
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert [p["id"] for p in output_messages(only_span(exporter))[0]["parts"]] == ["call_0", "call_1"]


async def test_async_stream_in_async_with_closed_early(
    async_client: openai.AsyncOpenAI, exporter: InMemorySpanExporter
):
    async with await async_client.chat.completions.create(model="m", messages=HELLO, stream=True) as stream:
        await stream.__anext__()
        assert exporter.get_finished_spans() == ()
    assert only_span(exporter).attributes[semconv.JUDGEVAL_LLM_STREAMED] is True


async def test_async_stream_closed_or_abandoned_ends_span(
    async_client: openai.AsyncOpenAI, exporter: InMemorySpanExporter
):
    closed = await async_client.chat.completions.create(model="m", messages=HELLO, stream=True)
    await closed.__anext__()
    await closed.close()
    assert len(exporter.get_finished_spans()) == 1
    abandoned = await async_client.chat.completions.create(model="m", messages=HELLO, stream=True)
    await abandoned.__anext__()
    del abandoned
    gc.collect()
    assert len(exporter.get_finished_spans()) == 2


def test_chat_stream_helper_goes_through_the_traced_create(
    client: openai.OpenAI, exporter: InMemorySpanExporter
):
    with client.chat.completions.stream(model="m", messages=HELLO) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Hello there my friend"
    first = output_messages(only_span(exporter))[0]
    assert first["parts"] == [{"type": "text", "content": "Hello there my friend"}]


def test_error_mid_stream_is_recorded_and_reraised(client: openai.OpenAI, exporter: InMemorySpanExporter):
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "cut"}], stream=True
    )
    with pytest.raises(openai.APIError, match="upstream overloaded"):
        list(stream)
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[semconv.ERROR_TYPE] == "APIError"
    assert output_messages(span)[0]["parts"] == [{"type": "text", "content": "never"}]
