"""Anthropic ``messages.create`` (sync/async, plain/streamed) through ``wrap()`` and the instrumentor."""

from __future__ import annotations

import gc
import json

import pytest
from judgeval import environment_variables, semconv
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.testing import RecordedOpenAIServer
from judgeval.tracer import Tracer, wrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tests.support.llm_spans import only_span, output_messages

from .zero_code import PACKAGE_QUESTION

anthropic = pytest.importorskip("anthropic", reason="the anthropic extra is not installed")

QUESTION = [{"role": "user", "content": PACKAGE_QUESTION}]
TOOLS = [
    {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {}}}
]


@pytest.fixture
def judgment(provider: TracerProvider) -> Tracer:
    return Tracer(project_name="anthropic-tests", tracer_provider=provider)


def _client(llm: RecordedOpenAIServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=llm.anthropic_base_url, api_key="test", max_retries=0)


def test_message_span_has_provider_usage_and_messages(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)
    message = client.messages.create(
        model="claude-replay", max_tokens=100, system="Be brief.", messages=QUESTION, stop_sequences=["END"]
    )
    assert message.content[0].text == "It ships tomorrow"
    span = only_span(exporter)
    attrs = span.attributes
    assert span.name == "chat claude-replay"
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == message.id
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    # Anthropic reports cache reads apart; the convention's input count includes them.
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == message.usage.input_tokens + 2
    assert attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 2
    assert json.loads(attrs[semconv.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": PACKAGE_QUESTION}]}
    ]
    assert output_messages(span) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "It ships tomorrow"}],
            "finish_reason": "end_turn",
        }
    ]


def test_tool_use_and_tool_results(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)
    history = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_0", "name": "get_weather", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": "sunny"}]},
        {"role": "user", "content": "and the weather in Oslo?"},
    ]
    client.messages.create(model="c", max_tokens=10, messages=history, tools=TOOLS)
    span = only_span(exporter)
    inputs = json.loads(span.attributes[semconv.GEN_AI_INPUT_MESSAGES])
    assert inputs[2]["parts"] == [{"type": "tool_call_response", "id": "toolu_0", "response": "sunny"}]
    assert json.loads(span.attributes[semconv.GEN_AI_TOOL_DEFINITIONS]) == TOOLS
    assert output_messages(span)[0]["parts"] == [
        {"type": "tool_call", "id": "toolu_1", "name": "get_weather", "arguments": {"city": "Oslo"}}
    ]
    assert span.attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


def test_streamed_message_is_accumulated(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)
    with client.messages.create(model="c", max_tokens=10, messages=QUESTION, stream=True) as stream:
        kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    span = only_span(exporter)
    assert span.attributes[semconv.JUDGEVAL_LLM_STREAMED] is True
    assert span.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert span.attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert output_messages(span)[0]["parts"] == [{"type": "text", "content": "It ships tomorrow"}]


def test_abandoned_stream_ends_span(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)
    stream = client.messages.create(model="c", max_tokens=10, messages=QUESTION, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    assert only_span(exporter).attributes[semconv.GEN_AI_RESPONSE_ID].startswith("msg_")


async def test_async_stream_with_tool_use_under_the_instrumentor(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = anthropic.AsyncAnthropic(base_url=llm.anthropic_base_url, api_key="test", max_retries=0)
    stream = await client.messages.create(
        model="c", max_tokens=10, messages=[{"role": "user", "content": "weather?"}], stream=True, tools=TOOLS
    )
    [event async for event in stream]
    await client.messages.create(model="c", max_tokens=10, messages=QUESTION)
    streamed, plain = exporter.get_finished_spans()
    assert output_messages(streamed)[0]["parts"] == [
        {"type": "tool_call", "id": "toolu_1", "name": "get_weather", "arguments": {"city": "Oslo"}}
    ]
    assert plain.attributes[semconv.GEN_AI_PROVIDER_NAME] == "anthropic"


def test_overloaded_error_is_recorded_and_reraised(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    with pytest.raises(anthropic.APIStatusError):
        _client(llm).messages.create(
            model="c", max_tokens=10, messages=[{"role": "user", "content": "overloaded"}]
        )
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[semconv.ERROR_TYPE]


def test_stream_helper_records_the_final_message(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)
    manager = client.messages.stream(model="c", max_tokens=10, messages=QUESTION)
    assert exporter.get_finished_spans() == ()
    with manager as stream:
        assert "".join(stream.text_stream) == "It ships tomorrow"
    span = only_span(exporter)
    assert span.attributes[semconv.JUDGEVAL_LLM_STREAMED] is True
    assert span.attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert output_messages(span)[0]["parts"] == [{"type": "text", "content": "It ships tomorrow"}]


async def test_async_stream_helper_under_the_instrumentor(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = anthropic.AsyncAnthropic(base_url=llm.anthropic_base_url, api_key="test", max_retries=0)
    async with client.messages.stream(model="c", max_tokens=10, messages=QUESTION) as stream:
        message = await stream.get_final_message()
    span = only_span(exporter)
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == message.id
    assert span.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == message.usage.output_tokens


def test_unused_stream_helper_still_ends_its_span(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    manager = wrap(_client(llm), tracer=judgment).messages.stream(model="c", max_tokens=10, messages=QUESTION)
    del manager
    gc.collect()
    assert semconv.GEN_AI_RESPONSE_ID not in only_span(exporter).attributes
    assert llm.requests == []  # the helper sends nothing until entered


def test_content_capture_off_keeps_only_metadata(
    monkeypatch: pytest.MonkeyPatch,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_CONTENT, "false")
    client = wrap(_client(llm), tracer=Tracer(project_name="private", tracer_provider=provider))
    client.messages.create(model="c", max_tokens=10, system="secret rules", messages=QUESTION, tools=TOOLS)
    attrs = only_span(exporter).attributes
    for key in (
        semconv.GEN_AI_INPUT_MESSAGES,
        semconv.GEN_AI_OUTPUT_MESSAGES,
        semconv.GEN_AI_SYSTEM_INSTRUCTIONS,
        semconv.GEN_AI_TOOL_DEFINITIONS,
    ):
        assert key not in attrs
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 3


def test_tool_result_blocks_record_kinds_not_image_bytes(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo" * 50}
    result = [{"type": "text", "text": "the chart:"}, {"type": "image", "source": image}]
    history = [
        {"role": "user", "content": "plot the weather"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_0", "name": "plot", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": result}]},
    ]
    wrap(_client(llm), tracer=judgment).messages.create(model="c", max_tokens=10, messages=history)
    raw = only_span(exporter).attributes[semconv.GEN_AI_INPUT_MESSAGES]
    assert "iVBORw0KGgo" not in raw
    assert json.loads(raw)[2]["parts"] == [
        {
            "type": "tool_call_response",
            "id": "toolu_0",
            "response": [{"type": "text", "content": "the chart:"}, {"type": "image"}],
        }
    ]
