"""judgeval next to the official OpenTelemetry OpenAI instrumentation: never two spans for one call."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Iterator

import openai
import pytest
from judgeval import environment_variables, semconv
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.instrumentation.instrumentor import INSTRUMENTATION_NAME
from judgeval.testing import OtlpTraceReceiver, ReceivedSpan, RecordedOpenAIServer
from judgeval.tracer import Tracer, wrap
from judgeval.tracer._coexistence import OpenAiSpanMode, openai_span_mode
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .zero_code import OPENTELEMETRY_INSTRUMENT, instrumented_env, run_instrumented

OFFICIAL_SCOPE = "opentelemetry.instrumentation.genai.openai"

pytestmark = pytest.mark.skipif(
    not OPENTELEMETRY_INSTRUMENT.exists() or importlib.util.find_spec(OFFICIAL_SCOPE) is None,
    reason="needs opentelemetry-instrument and opentelemetry-instrumentation-genai-openai (the dev extra)",
)


@pytest.fixture
def official(provider: TracerProvider) -> Iterator[object]:
    """The official OpenAI instrumentor, in-process, on the private provider."""
    instrumentor = importlib.import_module(OFFICIAL_SCOPE).OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield instrumentor
    instrumentor.uninstrument()


def _chat_spans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.attributes.get(semconv.GEN_AI_OPERATION_NAME) == "chat"]


def test_official_instrumentation_owns_openai_spans(receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer):
    run_instrumented("plain_openai_app.py", instrumented_env(receiver, llm))
    spans = receiver.wait_for(lambda spans: len(_chat_spans(spans)) >= 2)
    assert len(_chat_spans(spans)) == 2
    assert {span.scope for span in spans} == {OFFICIAL_SCOPE}


def test_agent_attribution_reaches_official_spans(receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer):
    run_instrumented("agent_app.py", instrumented_env(receiver, llm))
    spans = receiver.wait_for(lambda spans: {s.name for s in spans} >= {"answer", "chat gpt-5-mini"})
    (chat,) = _chat_spans(spans)
    assert chat.scope == OFFICIAL_SCOPE
    assert chat.attributes[semconv.GEN_AI_AGENT_NAME] == "SupportAgent"
    assert chat.attributes[semconv.GEN_AI_AGENT_ID].endswith("SupportAgent:support-1")


def test_judgeval_mode_with_official_disabled(receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer):
    env = instrumented_env(
        receiver,
        llm,
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai",
        **{environment_variables.JUDGEVAL_OPENAI_SPANS: "judgeval"},
    )
    run_instrumented("plain_openai_app.py", env)
    spans = receiver.wait_for(lambda spans: len(_chat_spans(spans)) >= 2)
    assert len(_chat_spans(spans)) == 2
    assert {span.scope for span in spans} == {INSTRUMENTATION_NAME}


def test_in_process_judgeval_defers_to_the_official_instrumentor(
    official: object,
    instrumented: JudgevalInstrumentor,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    client = wrap(
        openai.OpenAI(base_url=llm.base_url, api_key="test"), Tracer("both", tracer_provider=provider)
    )
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    (chat,) = exporter.get_finished_spans()
    assert chat.instrumentation_scope.name == OFFICIAL_SCOPE


def test_unknown_mode_means_auto(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    monkeypatch.setenv(environment_variables.JUDGEVAL_OPENAI_SPANS, "both")
    with caplog.at_level(logging.WARNING, logger="judgeval"):
        assert openai_span_mode() is OpenAiSpanMode.AUTO
    assert "JUDGEVAL_OPENAI_SPANS='both'" in caplog.text
