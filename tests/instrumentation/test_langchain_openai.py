"""LangChain's ``ChatOpenAI`` (which calls ``with_raw_response`` for every request, ``parse`` for structured
output) under the instrumentor: one complete LLM span per call, with the answer, ids, usage and finish
reasons."""

from __future__ import annotations

import json
from typing import Any

import langchain_openai
import pydantic
import pytest
from judgeval import semconv
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.testing import RecordedOpenAIServer, Recording
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .zero_code import PACKAGE_QUESTION


def _chat_model(llm: RecordedOpenAIServer, **options: Any) -> langchain_openai.ChatOpenAI:
    return langchain_openai.ChatOpenAI(
        model="gpt-replay", base_url=llm.base_url, api_key="test", max_retries=0, **options
    )


def _assert_complete(span: ReadableSpan, answer_id: str | None) -> None:
    """``answer_id``: the id LangChain reports (it reports none for a stream)."""
    attrs = span.attributes
    assert span.name == "chat gpt-replay"
    assert attrs[semconv.GEN_AI_RESPONSE_ID].startswith("chatcmpl-")
    if answer_id is not None:
        assert attrs[semconv.GEN_AI_RESPONSE_ID] == answer_id
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == "gpt-replay"
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert json.loads(attrs[semconv.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == PACKAGE_QUESTION
    assert json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "It ships tomorrow"}],
            "finish_reason": "stop",
        }
    ]


def test_invoke_makes_one_complete_llm_span(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    message = _chat_model(llm).invoke(PACKAGE_QUESTION)
    assert message.content == "It ships tomorrow"
    (span,) = exporter.get_finished_spans()
    _assert_complete(span, message.response_metadata["id"])


async def test_ainvoke_makes_one_complete_llm_span(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    message = await _chat_model(llm).ainvoke(PACKAGE_QUESTION)
    (span,) = exporter.get_finished_spans()
    _assert_complete(span, message.response_metadata["id"])


def test_streamed_invoke_makes_one_complete_llm_span(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    chunks = list(_chat_model(llm, stream_usage=True).stream(PACKAGE_QUESTION))
    assert "".join(str(chunk.content) for chunk in chunks) == "It ships tomorrow"
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.JUDGEVAL_LLM_STREAMED] is True
    _assert_complete(span, None)


def test_responses_api_invoke_makes_one_complete_llm_span(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    # LangChain reaches the Responses API through the client-level ``client.with_raw_response.responses``.
    message = _chat_model(llm, use_responses_api=True).invoke(PACKAGE_QUESTION)
    (span,) = exporter.get_finished_spans()
    attrs = span.attributes
    assert message.text == "It ships tomorrow"
    assert attrs[semconv.GEN_AI_RESPONSE_ID] == message.response_metadata["id"]
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    output = json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"] == [{"type": "text", "content": "It ships tomorrow"}]


class Shipping(pydantic.BaseModel):
    eta: str


@pytest.mark.parametrize("use_responses_api", [False, True], ids=["chat", "responses"])
def test_structured_output_makes_one_complete_llm_span(
    instrumented: JudgevalInstrumentor,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
    use_responses_api: bool,
):
    # ``with_structured_output`` reaches ``chat.completions.with_raw_response.parse`` (or the Responses
    # API's ``parse``), which post their request without calling ``create``.
    llm.recordings.insert(0, Recording(match=["when"], answer=Shipping(eta="tomorrow").model_dump_json()))
    model = _chat_model(llm, use_responses_api=use_responses_api).with_structured_output(
        Shipping, method="json_schema"
    )
    assert model.invoke("When does my package ship?") == Shipping(eta="tomorrow")
    (span,) = exporter.get_finished_spans()
    attrs = span.attributes
    assert span.name == "chat gpt-replay"
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    (message,) = json.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert Shipping.model_validate_json(message["parts"][0]["content"]) == Shipping(eta="tomorrow")
