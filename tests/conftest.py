"""Fixtures every suite shares: a clean SDK environment and a private tracer provider per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from judgeval import environment_variables
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_HOST_ENV = (
    environment_variables.JUDGMENT_MONITORING,
    environment_variables.JUDGMENT_EVALUATIONS,
    environment_variables.JUDGEVAL_CAPTURE_CONTENT,
    environment_variables.JUDGEVAL_CAPTURE_MAX_CHARS,
    environment_variables.JUDGEVAL_OPENAI_SPANS,
    environment_variables.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
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
"""Variables a developer's shell may carry that would change what the SDK does under test."""


@pytest.fixture(autouse=True)
def _clean_host_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _HOST_ENV:
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
