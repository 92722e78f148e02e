"""The fixtures every suite may use, loaded as a pytest plugin by ``tests/conftest.py``.

A clean SDK environment (autouse), a private tracer provider, a real OTLP receiver standing for the
downstream backend, evaluator configs on port 0 in ``tmp_path``, the session's private PostgreSQL
cluster and the scorer-environment cache.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from judgeval import environment_variables
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaluator_service.config import EvaluatorConfig, load_config
from tests.support.evaluator import FAST_RETRIES
from tests.support.postgres_cluster import ALLOW_SKIP_ENV, PostgresCluster, find_bindir

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

_config_files = itertools.count(1)


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


@pytest.fixture
def receiver() -> Iterator[OtlpTraceReceiver]:
    """A real OTLP/gRPC receiver on a free port, where agents or the evaluator export to."""
    with OtlpTraceReceiver() as downstream:
        yield downstream


@pytest.fixture
def make_config(tmp_path: Path, receiver: OtlpTraceReceiver) -> Callable[..., EvaluatorConfig]:
    """Build an evaluator config from a YAML mapping (merged over fast retries), on port 0 and tmp_path,
    exporting to ``receiver``."""

    def build(doc: dict[str, Any] | None = None, data_dir: Path | None = None) -> EvaluatorConfig:
        merged = {**FAST_RETRIES, **(doc or {})}
        path = tmp_path / f"evaluator-{next(_config_files)}.yaml"
        path.write_text(yaml.safe_dump(merged), encoding="utf-8")
        return load_config(
            listen="127.0.0.1:0",
            export_endpoint=receiver.endpoint,
            data_dir=str(data_dir or tmp_path / "data"),
            config_file=str(path),
            environ=dict(os.environ),
        )

    return build


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A private PostgreSQL server for this test session (CI runs ``scripts/ensure-postgres`` first)."""
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb) not found; run scripts/ensure-postgres"
        if os.environ.get(ALLOW_SKIP_ENV) == "1":
            pytest.skip(f"{message} ({ALLOW_SKIP_ENV}=1)")
        pytest.fail(f"{message}, or set {ALLOW_SKIP_ENV}=1 to skip these tests", pytrace=False)
    cluster = PostgresCluster.start(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def envs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scorer environments are a cache keyed by requirements, shared across tests as in production."""
    return tmp_path_factory.mktemp("scorer-envs")
