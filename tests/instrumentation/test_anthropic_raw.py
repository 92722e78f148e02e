"""Anthropic ``messages.with_raw_response`` / ``with_streaming_response``: spans record the parsed answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from judgeval import semconv
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.testing import RecordedOpenAIServer
from judgeval.tracer import Tracer, wrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.llm_spans import answer_attributes, only_span, plain_answer

from .zero_code import PACKAGE_QUESTION

anthropic = pytest.importorskip("anthropic", reason="the anthropic extra is not installed")

REQUEST: dict[str, Any] = {
    "model": "claude-replay",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": PACKAGE_QUESTION}],
}


@pytest.fixture
def client(provider: TracerProvider, llm: RecordedOpenAIServer) -> Any:
    judgment = Tracer(project_name="anthropic-raw-tests", tracer_provider=provider)
    return wrap(
        anthropic.Anthropic(base_url=llm.anthropic_base_url, api_key="t", max_retries=0), tracer=judgment
    )


@pytest.fixture
def async_client(provider: TracerProvider, llm: RecordedOpenAIServer) -> Any:
    judgment = Tracer(project_name="anthropic-raw-tests", tracer_provider=provider)
    return wrap(
        anthropic.AsyncAnthropic(base_url=llm.anthropic_base_url, api_key="t", max_retries=0), tracer=judgment
    )


def _plain_answer(client: Any, exporter: InMemorySpanExporter, **extra: Any) -> dict[str, Any]:
    return plain_answer(exporter, client.messages.create, **REQUEST, **extra)


def test_with_raw_response_records_the_message(client: Any, exporter: InMemorySpanExporter):
    plain = _plain_answer(client, exporter)
    raw = client.messages.with_raw_response.create(**REQUEST)
    span = only_span(exporter)  # ended with the call
    message = raw.parse()
    assert raw.parse() is message
    assert answer_attributes(span) == plain
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == message.id
    output = json.loads(span.attributes[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"] == [{"type": "text", "content": "It ships tomorrow"}]


def test_with_streaming_response_records_on_parse_and_ends_with_the_block(
    client: Any, exporter: InMemorySpanExporter
):
    plain = _plain_answer(client, exporter)
    with client.messages.with_streaming_response.create(**REQUEST) as response:
        message = response.parse()
        assert exporter.get_finished_spans() == ()
    span = only_span(exporter)
    assert answer_attributes(span) == plain
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == message.id


def test_streamed_raw_responses_record_the_events_the_user_reads(client: Any, exporter: InMemorySpanExporter):
    plain = _plain_answer(client, exporter, stream=True)
    events = list(client.messages.with_raw_response.create(**REQUEST, stream=True).parse())
    assert [e.type for e in events][-1] == "message_stop"
    assert answer_attributes(only_span(exporter)) == plain
    exporter.clear()
    with client.messages.with_streaming_response.create(**REQUEST, stream=True) as response:
        assert [e.type for e in response.parse()][-1] == "message_stop"
    assert answer_attributes(only_span(exporter)) == plain


async def test_async_raw_and_streaming_responses_record_the_message(
    client: Any, async_client: Any, exporter: InMemorySpanExporter
):
    plain = _plain_answer(client, exporter)
    raw = await async_client.messages.with_raw_response.create(**REQUEST)
    assert answer_attributes(only_span(exporter)) == plain
    assert (await raw.parse()).id == only_span(exporter).attributes[semconv.GEN_AI_RESPONSE_ID]
    exporter.clear()
    async with async_client.messages.with_streaming_response.create(**REQUEST) as response:
        await response.parse()
        assert exporter.get_finished_spans() == ()
    assert answer_attributes(only_span(exporter)) == plain
    exporter.clear()
    plain_streamed = _plain_answer(client, exporter, stream=True)
    async with async_client.messages.with_streaming_response.create(**REQUEST, stream=True) as response:
        assert [e.type async for e in await response.parse()][-1] == "message_stop"
    assert answer_attributes(only_span(exporter)) == plain_streamed


def test_instrumented_classes_trace_raw_responses(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = anthropic.Anthropic(base_url=llm.anthropic_base_url, api_key="t", max_retries=0)
    message = client.messages.with_raw_response.create(**REQUEST).parse()
    span = only_span(exporter)
    assert span.attributes[semconv.GEN_AI_RESPONSE_ID] == message.id
    assert span.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == message.usage.output_tokens
