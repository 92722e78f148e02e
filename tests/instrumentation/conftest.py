"""Fixtures for the zero-code instrumentation tests: private providers in-process, real subprocesses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.testing import RecordedOpenAIServer, Recording
from opentelemetry.sdk.trace import TracerProvider


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
