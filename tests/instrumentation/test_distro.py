"""The ``opentelemetry-instrument`` entry points and the distro's environment defaults."""

from __future__ import annotations

import os
from importlib.metadata import entry_points

import judgeval.instrumentation
import pytest
from judgeval import environment_variables
from judgeval.instrumentation import JudgevalConfigurator, JudgevalDistro, JudgevalInstrumentor
from judgeval.instrumentation.distro import DISTRO_ENV_DEFAULTS, WIRE_EXPORTER_NAME
from judgeval.instrumentation.setup_check import check_setup, setup_problem
from judgeval.tracer._wire_exporter import WireOtlpSpanExporter
from opentelemetry.sdk.trace import TracerProvider


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("opentelemetry_instrumentor", JudgevalInstrumentor),
        ("opentelemetry_distro", JudgevalDistro),
        ("opentelemetry_configurator", JudgevalConfigurator),
        ("opentelemetry_pre_instrument", check_setup),
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


@pytest.fixture
def sdk_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """As after a configurator ran: the global provider is an SDK one (this process's stays untouched)."""
    monkeypatch.setattr("judgeval.instrumentation.setup_check.trace.get_tracer_provider", TracerProvider)
    monkeypatch.setattr(JudgevalDistro, "applied", False)


def test_setup_check_turns_content_on_whichever_distro_ran(
    monkeypatch: pytest.MonkeyPatch, sdk_configured: None
):
    monkeypatch.setenv("OTEL_PYTHON_DISTRO", "distro")  # another distro, chosen on purpose: no line
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv(environment_variables.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "")
    monkeypatch.delenv(environment_variables.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_CONTENT, "false")  # the user's value wins
    check_setup()
    assert os.environ[environment_variables.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT] == "span_only"
    assert os.environ[environment_variables.JUDGEVAL_CAPTURE_CONTENT] == "false"


def test_setup_problem_without_a_traces_exporter(monkeypatch: pytest.MonkeyPatch, sdk_configured: None):
    # A distro that sets no traces exporter (ours always does): nothing would leave the process.
    assert setup_problem() is not None
    assert str(setup_problem()).endswith("set OTEL_PYTHON_DISTRO=judgeval (or OTEL_TRACES_EXPORTER=otlp)")
    monkeypatch.setattr(JudgevalDistro, "applied", True)
    assert setup_problem() is None


def test_setup_problem_without_an_sdk_provider(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("judgeval.instrumentation.setup_check.trace.get_tracer_provider", object)
    monkeypatch.setenv("OTEL_PYTHON_CONFIGURATOR", "nope")
    problem = str(setup_problem())
    assert "OTEL_PYTHON_CONFIGURATOR=nope matches none of the installed ones (judgeval" in problem
