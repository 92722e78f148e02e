"""The ``opentelemetry-instrument`` entry points and the distro's environment defaults."""

from __future__ import annotations

import os
from importlib.metadata import entry_points

import judgeval.instrumentation
import pytest
from judgeval import environment_variables
from judgeval.instrumentation import JudgevalConfigurator, JudgevalDistro, JudgevalInstrumentor
from judgeval.instrumentation.distro import DISTRO_ENV_DEFAULTS, WIRE_EXPORTER_NAME
from judgeval.tracer._wire_exporter import WireOtlpSpanExporter


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
    assert os.environ["OTEL_TRACES_EXPORTER"] == WIRE_EXPORTER_NAME
    assert os.environ["OTEL_METRICS_EXPORTER"] == "none"
    assert os.environ[environment_variables.JUDGEVAL_CAPTURE_CONTENT] == "true"
    assert os.environ[environment_variables.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT] == "span_only"


def test_the_default_exporter_is_the_stock_grpc_one_with_the_wire_encoder():
    (entry_point,) = entry_points(group="opentelemetry_traces_exporter", name=WIRE_EXPORTER_NAME)
    assert entry_point.load() is WireOtlpSpanExporter


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),  # a named exporter is kept, even the usual one
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "otlp"),  # the wire encoder is gRPC-only
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "otlp"),
    ],
)
def test_the_wire_exporter_default_yields_to_the_users_choice(
    monkeypatch: pytest.MonkeyPatch, preset: dict[str, str], expected: str
):
    for name in DISTRO_ENV_DEFAULTS:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name, value in preset.items():
        monkeypatch.setenv(name, value)
    JudgevalDistro().configure()
    assert os.environ["OTEL_TRACES_EXPORTER"] == expected
