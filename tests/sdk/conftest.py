"""Fixtures for the SDK tests: a private TracerProvider per test, and the real local stand-ins."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer
from judgeval.tracer import Tracer
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
