"""``wrap(OpenAI())``: GenAI CLIENT spans for chat completions against a local OpenAI-compatible server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import openai
import pytest
from judgeval import environment_variables, semconv
from judgeval._internal_errors import reraise_internal_errors
from judgeval.testing import RecordedOpenAIServer, Recording
from judgeval.tracer import Tracer, wrap
from judgeval.tracer._wrap_client import unpatch_client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.spans import spans_by_name

WEATHER_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


@pytest.fixture
def llm() -> Iterator[RecordedOpenAIServer]:
    recordings = [
        Recording(match=["weather"], tool_calls=[WEATHER_CALL], finish_reason="tool_calls"),
        Recording(match=["explode"], status=500),
        Recording(answer="Hello there"),
    ]
    with RecordedOpenAIServer(recordings) as server:
        yield server


def _client(server: RecordedOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)


def test_chat_span_has_genai_attributes(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)

    @judgment.observe()
    def ask() -> str:
        completion = client.chat.completions.create(
            model="gpt-5-mini",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            temperature=0.2,
            max_tokens=50,
            top_p=0.9,
        )
        return completion.choices[0].message.content or ""

    assert ask() == "Hello there"
    spans = spans_by_name(exporter)
    chat = spans["chat gpt-5-mini"]
    assert chat.kind is SpanKind.CLIENT
    assert chat.parent.span_id == spans["ask"].context.span_id
    attrs = chat.attributes
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[semconv.GEN_AI_REQUEST_MODEL] == "gpt-5-mini"
    assert attrs[semconv.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert attrs[semconv.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == "gpt-5-mini"
    assert attrs[semconv.GEN_AI_RESPONSE_ID]
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
    ]
    assert json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello there"}], "finish_reason": "stop"}
    ]


def test_tool_calls_become_tool_call_parts(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "weather in Paris?"}])
    (chat,) = exporter.get_finished_spans()
    (message,) = json.loads(chat.attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert message["finish_reason"] == "tool_calls"
    assert message["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]


def test_wrapping_twice_does_not_double_spans_and_can_be_undone(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = _client(llm)
    assert wrap(wrap(client, tracer=judgment), tracer=judgment) is client
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert len(exporter.get_finished_spans()) == 1
    unpatch_client(client)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert len(exporter.get_finished_spans()) == 1


def test_clients_made_with_options_or_copy_are_traced_too(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)
    client.with_options(timeout=30).chat.completions.create(
        model="a", messages=[{"role": "user", "content": "hi"}]
    )
    client.copy(max_retries=1).with_options(timeout=30).embeddings.create(model="e", input="hi")
    assert [span.name for span in exporter.get_finished_spans()] == ["chat a", "embeddings e"]
    unpatch_client(client)
    client.with_options(timeout=30).chat.completions.create(
        model="b", messages=[{"role": "user", "content": "hi"}]
    )
    assert len(exporter.get_finished_spans()) == 2


def test_a_client_that_cannot_be_patched_is_returned_untraced(
    judgment: Tracer, caplog: pytest.LogCaptureFixture
):
    class FrozenEmbeddings:
        __slots__ = ()

        def create(self, **kwargs: object) -> str:
            return "vectors"

    class ThirdPartyClient:
        def __init__(self) -> None:
            self.embeddings = FrozenEmbeddings()

    client = ThirdPartyClient()
    with caplog.at_level(logging.ERROR, logger="judgeval"), reraise_internal_errors(False):
        assert wrap(client, tracer=judgment) is client
    assert client.embeddings.create(model="e", input="x") == "vectors"
    assert "could not wrap ThirdPartyClient" in caplog.text


def test_messages_given_as_a_generator_still_reach_the_api(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    def conversation():
        yield {"role": "system", "content": "Be brief."}
        yield {"role": "user", "content": (part for part in [{"type": "text", "text": "weather?"}])}

    client = wrap(_client(llm), tracer=judgment)
    completion = client.chat.completions.create(model="m", messages=conversation())
    assert completion.choices[0].finish_reason == "tool_calls"  # the server saw the user's question
    assert [m["role"] for m in llm.requests[-1]["messages"]] == ["system", "user"]
    (chat,) = exporter.get_finished_spans()
    assert json.loads(chat.attributes[semconv.GEN_AI_INPUT_MESSAGES])[1] == {
        "role": "user",
        "parts": [{"type": "text", "content": "weather?"}],
    }


def test_api_error_is_recorded_and_reraised(
    judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = wrap(_client(llm), tracer=judgment)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "explode"}])
    (chat,) = exporter.get_finished_spans()
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes[semconv.ERROR_TYPE] == "InternalServerError"


def test_tools_cached_tokens_and_size_cap(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_MAX_CHARS, "40")
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    with RecordedOpenAIServer([Recording(answer="word " * 100, cached_tokens=3)]) as server:
        client = wrap(_client(server), tracer=Tracer(project_name="cap", tracer_provider=provider))
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x" * 500}], tools=tools
        )
    attrs = exporter.get_finished_spans()[0].attributes
    assert json.loads(attrs[semconv.GEN_AI_TOOL_DEFINITIONS]) == tools
    assert attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 3
    (message,) = json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES])
    assert len(message["parts"][0]["content"]) == 40
    (answer,) = json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert answer["parts"][0]["content"].endswith("[truncated]")


def test_long_conversation_keeps_valid_json_with_the_newest_messages(
    monkeypatch: pytest.MonkeyPatch,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    # the whole attribute: 4 x 40 chars
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_MAX_CHARS, "40")
    history = [{"role": "user", "content": f"turn {i} " + "x" * 100} for i in range(8)]
    client = wrap(_client(llm), tracer=Tracer(project_name="long", tracer_provider=provider))
    client.chat.completions.create(model="m", messages=[*history, {"role": "user", "content": "hi"}])
    raw = exporter.get_finished_spans()[0].attributes[semconv.GEN_AI_INPUT_MESSAGES]
    assert len(raw) <= 160
    kept = json.loads(raw)
    assert 1 <= len(kept) < len(history) + 1
    assert kept[-1] == {"role": "user", "parts": [{"type": "text", "content": "hi"}]}


def test_rate_limit_error_is_recorded_and_reraised(judgment: Tracer, exporter: InMemorySpanExporter):
    with RecordedOpenAIServer([Recording(status=429)]) as server:
        client = wrap(_client(server), tracer=judgment)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            )
    (chat,) = exporter.get_finished_spans()
    assert chat.attributes[semconv.ERROR_TYPE] == "RateLimitError"
    assert semconv.JUDGEVAL_LLM_STREAMED not in chat.attributes


async def test_async_client(judgment: Tracer, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer):
    client = wrap(openai.AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0), tracer=judgment)
    completion = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello there"
    (chat,) = exporter.get_finished_spans()
    assert chat.name == "chat m"
    assert chat.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_content_capture_off_omits_messages(
    monkeypatch: pytest.MonkeyPatch,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_CONTENT, "false")
    client = wrap(_client(llm), tracer=Tracer(project_name="private", tracer_provider=provider))
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    (chat,) = exporter.get_finished_spans()
    assert semconv.GEN_AI_INPUT_MESSAGES not in chat.attributes
    assert semconv.GEN_AI_OUTPUT_MESSAGES not in chat.attributes
    assert chat.attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_monitoring_off_returns_client_untouched(monkeypatch: pytest.MonkeyPatch, llm: RecordedOpenAIServer):
    monkeypatch.setenv(environment_variables.JUDGMENT_MONITORING, "false")
    client = _client(llm)
    original_create = client.chat.completions.create
    assert wrap(client, tracer=Tracer(project_name="off")) is client
    assert "create" not in vars(client.chat.completions)
    assert client.chat.completions.create == original_create
