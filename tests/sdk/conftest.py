"""Fixtures for the SDK tests: a private TracerProvider per test, and the real local stand-ins."""

from __future__ import annotations

import os
from collections.abc import Iterator

import openai
import pytest
from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer
from judgeval.tracer import Tracer, wrap
from opentelemetry.sdk.trace import TracerProvider


@pytest.fixture
def judgment(provider: TracerProvider) -> Tracer:
    return Tracer(project_name="sdk-tests", tracer_provider=provider)


@pytest.fixture
def openai_server() -> Iterator[RecordedOpenAIServer]:
    with RecordedOpenAIServer() as server:
        yield server


@pytest.fixture
def agent_env(
    monkeypatch: pytest.MonkeyPatch, receiver: OtlpTraceReceiver, openai_server: RecordedOpenAIServer
) -> dict[str, str]:
    """Environment for an agent subprocess exporting to ``receiver`` and calling ``openai_server``."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://{receiver.endpoint}")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    return dict(os.environ)


@pytest.fixture
def client(judgment: Tracer, llm: RecordedOpenAIServer) -> openai.OpenAI:
    """``wrap(OpenAI())`` against the test module's ``llm`` server (each suite records its own answers)."""
    return wrap(openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0), tracer=judgment)


@pytest.fixture
def async_client(judgment: Tracer, llm: RecordedOpenAIServer) -> openai.AsyncOpenAI:
    """``wrap(AsyncOpenAI())`` against the test module's ``llm`` server."""
    return wrap(openai.AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0), tracer=judgment)
