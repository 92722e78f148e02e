"""``JudgevalInstrumentor`` in-process: class-level patches, undo, no double spans, agent attribution."""

from __future__ import annotations

import importlib
import importlib.util
import json

import openai
import pytest
import wrapt
from judgeval import environment_variables, semconv
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.instrumentation.instrumentor import INSTRUMENTATION_NAME, PATCH_TARGETS
from judgeval.testing import RecordedOpenAIServer
from judgeval.tracer import Tracer, wrap
from judgeval.tracer._agent import AgentAttributionSpanProcessor
from openai.resources.chat.completions import Completions
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from .zero_code import PACKAGE_QUESTION

QUESTION = [{"role": "user", "content": PACKAGE_QUESTION}]


def _client(llm: RecordedOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0)


def _async_client(llm: RecordedOpenAIServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0)


def test_every_client_is_traced_and_uninstrument_undoes_it(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = _client(llm)
    client.chat.completions.create(model="m", messages=QUESTION)
    client.responses.create(model="m", input=PACKAGE_QUESTION)
    client.embeddings.create(model="e", input="package")
    assert isinstance(vars(Completions)["create"], wrapt.FunctionWrapper)
    names = [span.name for span in exporter.get_finished_spans()]
    assert names == ["chat m", "chat m", "embeddings e"]
    assert {span.instrumentation_scope.name for span in exporter.get_finished_spans()} == {
        INSTRUMENTATION_NAME
    }
    instrumented.uninstrument()
    client.chat.completions.create(model="m", messages=QUESTION)
    assert len(exporter.get_finished_spans()) == 3
    assert not isinstance(vars(Completions)["create"], wrapt.FunctionWrapper)


async def test_async_calls_and_streams_are_traced(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    client = _async_client(llm)
    await client.chat.completions.create(model="m", messages=QUESTION)
    stream = await client.chat.completions.create(model="m", messages=QUESTION, stream=True)
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    await client.embeddings.create(model="e", input=["a", "b"])
    assert text == "It ships tomorrow"
    plain, streamed, embedded = exporter.get_finished_spans()
    assert json.loads(streamed.attributes[semconv.GEN_AI_OUTPUT_MESSAGES]) == json.loads(
        plain.attributes[semconv.GEN_AI_OUTPUT_MESSAGES]
    )
    assert embedded.attributes[semconv.GEN_AI_OPERATION_NAME] == "embeddings"


def test_wrap_on_an_instrumented_class_traces_once(
    instrumented: JudgevalInstrumentor,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    judgment = Tracer(project_name="both", tracer_provider=provider)
    client = wrap(_client(llm), tracer=judgment)
    client.chat.completions.create(model="m", messages=QUESTION)
    list(client.chat.completions.create(model="m", messages=QUESTION, stream=True))
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == ["chat m", "chat m"]


def test_agent_attribution_is_added_to_the_provider_once(
    instrumented: JudgevalInstrumentor,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    processors = provider._active_span_processor._span_processors
    assert sum(isinstance(p, AgentAttributionSpanProcessor) for p in processors) == 1
    judgment = Tracer(project_name="agents", tracer_provider=provider)
    assert sum(isinstance(p, AgentAttributionSpanProcessor) for p in processors) == 1
    client = _client(llm)

    class Helper:
        @judgment.agent()
        def run(self) -> None:
            client.chat.completions.create(model="m", messages=QUESTION)

    Helper().run()
    (chat,) = exporter.get_finished_spans()
    assert chat.attributes[semconv.GEN_AI_AGENT_NAME] == "Helper"


def test_errors_are_recorded_and_reraised(
    instrumented: JudgevalInstrumentor, exporter: InMemorySpanExporter, llm: RecordedOpenAIServer
):
    with pytest.raises(openai.APIStatusError) as raised:
        _client(llm).chat.completions.create(model="m", messages=[{"role": "user", "content": "overloaded"}])
    assert raised.value.status_code == 529
    (chat,) = exporter.get_finished_spans()
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes[semconv.ERROR_TYPE] == type(raised.value).__name__


def test_openai_spans_off_switch(
    monkeypatch: pytest.MonkeyPatch,
    instrumented: JudgevalInstrumentor,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_OPENAI_SPANS, "off")
    assert _client(llm).chat.completions.create(model="m", messages=QUESTION).choices
    assert exporter.get_finished_spans() == ()


def test_monitoring_off_patches_nothing(monkeypatch: pytest.MonkeyPatch, provider: TracerProvider):
    monkeypatch.setenv(environment_variables.JUDGMENT_MONITORING, "false")
    instrumentor = JudgevalInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        assert not isinstance(vars(Completions)["create"], wrapt.FunctionWrapper)
    finally:
        instrumentor.uninstrument()


def test_uninstrument_removes_every_patch(provider: TracerProvider):
    instrumentor = JudgevalInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        owners = [
            (getattr(importlib.import_module(target.module), target.owner), target.method)
            for target in PATCH_TARGETS
            if importlib.util.find_spec(target.module.split(".")[0]) is not None
        ]
        assert owners and all(
            isinstance(vars(owner)[method], wrapt.FunctionWrapper) for owner, method in owners
        )
    finally:
        instrumentor.uninstrument()
    assert not any(isinstance(vars(owner)[method], wrapt.FunctionWrapper) for owner, method in owners)
