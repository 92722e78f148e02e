"""The ``opentelemetry-instrument`` entry points and the distro's environment defaults."""

from __future__ import annotations

import os
from importlib.metadata import entry_points

import judgeval.instrumentation
import pytest
from judgeval import semconv
from judgeval.instrumentation import JudgevalConfigurator, JudgevalDistro, JudgevalInstrumentor
from judgeval.instrumentation.distro import DISTRO_ENV_DEFAULTS


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("opentelemetry_instrumentor", JudgevalInstrumentor),
        ("opentelemetry_distro", JudgevalDistro),
        ("opentelemetry_configurator", JudgevalConfigurator),
    ],
)
def test_entry_points_are_registered_as_judgeval(group: str, expected: type):
    (entry_point,) = entry_points(group=group, name="judgeval")
    assert entry_point.load() is expected


def test_public_names():
    assert judgeval.instrumentation.__all__ == [
        "JudgevalConfigurator",
        "JudgevalDistro",
        "JudgevalInstrumentor",
    ]


def test_distro_only_fills_in_defaults(monkeypatch: pytest.MonkeyPatch):
    for name in DISTRO_ENV_DEFAULTS:
        monkeypatch.setenv(name, "")  # records the original value, so the test leaves os.environ as it was
        monkeypatch.delenv(name)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    JudgevalDistro().configure()
    assert os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4317"
    assert os.environ["OTEL_TRACES_EXPORTER"] == "otlp"
    assert os.environ["OTEL_METRICS_EXPORTER"] == "none"
    assert os.environ[semconv.JUDGEVAL_CAPTURE_CONTENT] == "true"
    assert os.environ[semconv.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT] == "span_only"
