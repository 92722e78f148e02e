"""Fixtures for the zero-code instrumentation tests: private providers in-process, real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer, Recording
from opentelemetry.sdk.trace import TracerProvider

APPS = Path(__file__).resolve().parent / "apps"
OPENTELEMETRY_INSTRUMENT = Path(sys.executable).parent / "opentelemetry-instrument"


PACKAGE_QUESTION = "Where is my package?"


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


def instrumented_env(receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer, **extra: str) -> dict[str, str]:
    """Environment of an app run under ``opentelemetry-instrument``, exporting to ``receiver``."""
    env = dict(os.environ)  # the autouse fixture already removed the host's SDK variables
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
