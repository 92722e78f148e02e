"""``wrap(OpenAI())``: the Responses API (plain and streamed) and embeddings."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator

import openai
import pytest
from judgeval import semconv
from judgeval.testing import RecordedOpenAIServer, Recording
from judgeval.tracer import Tracer, wrap
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tests.support.llm_spans import json_attribute, only_span, output_messages

LOOKUP = {"id": "call_7", "type": "function", "function": {"name": "lookup", "arguments": '{"order": 42}'}}


@pytest.fixture
def llm() -> Iterator[RecordedOpenAIServer]:
    recordings = [
        Recording(match=["order"], tool_calls=[LOOKUP]),
        Recording(match=["explode"], status=500),
        Recording(answer="Refunds take five days", cached_tokens=1),
    ]
    with RecordedOpenAIServer(recordings) as server:
        yield server


def test_response_span_has_messages_usage_and_instructions(
    client: openai.OpenAI, exporter: InMemorySpanExporter
):
    response = client.responses.create(
        model="gpt-5-mini", input="How long do refunds take?", instructions="Be brief.", max_output_tokens=64
    )
    assert response.output_text == "Refunds take five days"
    span = only_span(exporter)
    attrs = span.attributes
    assert span.name == "chat gpt-5-mini"
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == response.id
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1
    instructions = json_attribute(span, semconv.GEN_AI_SYSTEM_INSTRUCTIONS)
    assert instructions == [{"type": "text", "content": "Be brief."}]
    assert json_attribute(span, semconv.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "How long do refunds take?"}]}
    ]
    assert output_messages(span) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Refunds take five days"}],
            "finish_reason": "stop",
        }
    ]


def test_response_items_and_function_calls(client: openai.OpenAI, exporter: InMemorySpanExporter):
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "where is my order?"}]},
        {"type": "function_call", "call_id": "call_6", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_6", "output": "not found"},
    ]
    client.responses.create(model="m", input=items, tools=tools)
    span = only_span(exporter)
    assert json.loads(span.attributes[semconv.GEN_AI_TOOL_DEFINITIONS]) == tools
    roles = [m["role"] for m in json_attribute(span, semconv.GEN_AI_INPUT_MESSAGES)]
    assert roles == ["user", "assistant", "tool"]
    assert json_attribute(span, semconv.GEN_AI_INPUT_MESSAGES)[2]["parts"] == [
        {"type": "tool_call_response", "id": "call_6", "response": "not found"}
    ]
    (output,) = output_messages(span)
    assert output["finish_reason"] == "tool_calls"
    assert output["parts"] == [
        {"type": "tool_call", "id": "call_7", "name": "lookup", "arguments": {"order": 42}}
    ]


def test_streamed_response_is_described_by_its_final_event(
    client: openai.OpenAI, exporter: InMemorySpanExporter
):
    with client.responses.create(model="m", input="refunds?", stream=True) as stream:
        events = [event.type for event in stream]
    assert events[0] == "response.created" and events[-1] == "response.completed"
    attrs = only_span(exporter).attributes
    assert attrs[semconv.JUDGEVAL_LLM_STREAMED] is True
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    assert (
        json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"]
        == "Refunds take five days"
    )


def test_abandoned_response_stream_keeps_text_received(client: openai.OpenAI, exporter: InMemorySpanExporter):
    stream = client.responses.create(model="m", input="refunds?", stream=True)
    for event in stream:
        if event.type == "response.output_text.delta":
            break
    del stream, event
    gc.collect()
    span = only_span(exporter)
    assert output_messages(span)[0]["parts"] == [{"type": "text", "content": "Refunds"}]
    assert semconv.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes


async def test_async_responses_plain_stream_and_error(
    judgment: Tracer, llm: RecordedOpenAIServer, exporter: InMemorySpanExporter
):
    client = wrap(openai.AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0), tracer=judgment)
    await client.responses.create(model="m", input="refunds?")
    stream = await client.responses.create(model="m", input="order 42?", stream=True)
    [event async for event in stream]
    with pytest.raises(openai.InternalServerError):
        await client.responses.create(model="m", input="explode")
    plain, streamed, failed = exporter.get_finished_spans()
    assert plain.attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert streamed.attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes[semconv.ERROR_TYPE] == "InternalServerError"


async def test_embeddings_sync_and_async(
    judgment: Tracer, llm: RecordedOpenAIServer, exporter: InMemorySpanExporter
):
    sync_client = wrap(openai.OpenAI(base_url=llm.base_url, api_key="test"), tracer=judgment)
    async_client = wrap(openai.AsyncOpenAI(base_url=llm.base_url, api_key="test"), tracer=judgment)
    sync_client.embeddings.create(model="text-embedding-3-small", input=["late package", "refund"])
    await async_client.embeddings.create(
        model="text-embedding-3-small", input="hello", encoding_format="float"
    )
    first, second = exporter.get_finished_spans()
    assert first.name == "embeddings text-embedding-3-small"
    assert first.attributes[semconv.GEN_AI_OPERATION_NAME] == "embeddings"
    assert first.attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 3
    assert first.attributes[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 16
    assert semconv.GEN_AI_INPUT_MESSAGES not in first.attributes
    assert second.attributes[semconv.GEN_AI_REQUEST_ENCODING_FORMATS] == ("float",)


def test_responses_stream_helper_goes_through_the_traced_create(
    client: openai.OpenAI, exporter: InMemorySpanExporter
):
    with client.responses.stream(model="m", input="refunds?") as stream:
        final = stream.get_final_response()
    assert only_span(exporter).attributes[semconv.GEN_AI_RESPONSE_ID] == final.id
