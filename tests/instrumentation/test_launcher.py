"""``opentelemetry-instrument python app.py`` on an unmodified OpenAI app exports judgeval GenAI spans."""

from __future__ import annotations

import importlib.util
import json

import pytest
from judgeval import semconv
from judgeval.instrumentation.instrumentor import INSTRUMENTATION_NAME
from judgeval.testing import OtlpTraceReceiver, ReceivedSpan, RecordedOpenAIServer

from .zero_code import OPENTELEMETRY_INSTRUMENT, PACKAGE_QUESTION, instrumented_env, run_instrumented

pytestmark = pytest.mark.skipif(
    not OPENTELEMETRY_INSTRUMENT.exists(), reason="opentelemetry-instrument is not installed in this venv"
)

# The official OpenAI instrumentation (a dev dependency) would take over OpenAI spans; these tests are
# about ours, so it is switched off the standard way. ``test_coexistence`` runs both.
WITHOUT_OFFICIAL = {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai"}


def _chat_spans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.attributes.get(semconv.GEN_AI_OPERATION_NAME) == "chat"]


def test_unmodified_app_exports_genai_spans(receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer):
    done = run_instrumented("plain_openai_app.py", instrumented_env(receiver, llm, **WITHOUT_OFFICIAL))
    assert done.stdout.splitlines() == ["It ships tomorrow", "It ships tomorrow"]
    plain, streamed = _chat_spans(receiver.wait_for(lambda spans: len(_chat_spans(spans)) == 2))
    for span in (plain, streamed):
        assert span.scope == INSTRUMENTATION_NAME
        assert span.resource[semconv.SERVICE_NAME] == "zero-code-app"
        assert span.attributes[semconv.GEN_AI_PROVIDER_NAME] == "openai"
        assert span.attributes[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 2
        assert json.loads(span.attributes[semconv.GEN_AI_INPUT_MESSAGES]) == [
            {"role": "user", "parts": [{"type": "text", "content": PACKAGE_QUESTION}]}
        ]
        assert json.loads(span.attributes[semconv.GEN_AI_OUTPUT_MESSAGES]) == [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "It ships tomorrow"}],
                "finish_reason": "stop",
            }
        ]
    assert streamed.attributes[semconv.JUDGEVAL_LLM_STREAMED] is True


def test_sdk_app_gets_one_llm_span_with_agent_attribution(
    receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer
):
    run_instrumented("agent_app.py", instrumented_env(receiver, llm, **WITHOUT_OFFICIAL))
    spans = receiver.wait_for(lambda spans: {s.name for s in spans} >= {"answer", "chat gpt-5-mini"})
    (chat,) = _chat_spans(spans)  # wrap() on an instrumented class: still one span
    (answer,) = [s for s in spans if s.name == "answer"]
    assert chat.parent_span_id == answer.span_id
    assert chat.attributes[semconv.GEN_AI_AGENT_NAME] == "SupportAgent"


@pytest.mark.skipif(
    importlib.util.find_spec("opentelemetry.instrumentation.genai.openai") is None,
    reason="shows spans still flow from opentelemetry-instrumentation-genai-openai (the dev extra)",
)
def test_disabled_instrumentation_leaves_openai_alone(receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer):
    env = instrumented_env(receiver, llm, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="judgeval")
    done = run_instrumented("plain_openai_app.py", env)
    assert done.stdout.startswith("It ships tomorrow")
    # The official OpenAI instrumentation is still on, so spans do arrive: none of them is ours.
    spans = receiver.wait_for(lambda spans: len(_chat_spans(spans)) == 2)
    assert {span.scope for span in spans} == {"opentelemetry.instrumentation.genai.openai"}
