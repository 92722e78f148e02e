"""Fixtures for the zero-code instrumentation tests: private providers in-process, real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer, Recording
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

APPS = Path(__file__).resolve().parent / "apps"
OPENTELEMETRY_INSTRUMENT = Path(sys.executable).parent / "opentelemetry-instrument"

_ENV = (
    semconv.JUDGMENT_MONITORING,
    semconv.JUDGMENT_EVALUATIONS,
    semconv.JUDGEVAL_CAPTURE_CONTENT,
    semconv.JUDGEVAL_CAPTURE_MAX_CHARS,
    semconv.JUDGEVAL_OPENAI_SPANS,
    semconv.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_PYTHON_DISTRO",
    "OTEL_PYTHON_CONFIGURATOR",
    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
)

PACKAGE_QUESTION = "Where is my package?"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A private SDK provider; the global one is never touched by in-process tests."""
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


@pytest.fixture
def instrumented(provider: TracerProvider) -> Iterator[JudgevalInstrumentor]:
    """The instrumentor patching the client classes for this test only, spans going to ``provider``."""
    instrumentor = JudgevalInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield instrumentor
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture
def llm() -> Iterator[RecordedOpenAIServer]:
    weather = {
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    }
    recordings = [
        Recording(match=["weather"], tool_calls=[weather], finish_reason="tool_calls"),
        Recording(match=["overloaded"], status=529),
        Recording(match=["package"], answer="It ships tomorrow", cached_tokens=2),
        Recording(answer="Hello there"),
    ]
    with RecordedOpenAIServer(recordings) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[OtlpTraceReceiver]:
    with OtlpTraceReceiver() as otlp:
        yield otlp


def instrumented_env(receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer, **extra: str) -> dict[str, str]:
    """Environment of an app run under ``opentelemetry-instrument``, exporting to ``receiver``."""
    env = {name: value for name, value in os.environ.items() if name not in _ENV}
    env |= {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{receiver.endpoint}",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "test",
        "OTEL_SERVICE_NAME": "zero-code-app",
    }
    return env | extra


def run_instrumented(app: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``opentelemetry-instrument python apps/<app>``; fails the test with stderr unless it exits cleanly."""
    done = subprocess.run(
        [str(OPENTELEMETRY_INSTRUMENT), sys.executable, str(APPS / app)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{app} exited {done.returncode}:\n{done.stderr}"
    return done
