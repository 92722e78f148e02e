"""Provider setup: resource, exporter choice, reuse of an app's provider, bounded exit, fork."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.testing import OtlpTraceReceiver
from judgeval.tracer._exporters import configured_exporters, create_exporter
from judgeval.tracer._provider import build_resource
from judgeval.tracer._wire_exporter import WireOtlpSpanExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from tests.support.processes import run_python


def test_grpc_is_the_default_protocol():
    assert isinstance(create_exporter(), GrpcExporter)


@pytest.mark.parametrize("variable", ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"])
def test_http_protobuf_protocol_selects_the_http_exporter(monkeypatch: pytest.MonkeyPatch, variable: str):
    monkeypatch.setenv(variable, "http/protobuf")
    assert isinstance(create_exporter(), HttpExporter)


def test_traces_protocol_overrides_the_general_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    assert isinstance(create_exporter(), GrpcExporter)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, [WireOtlpSpanExporter]),
        ("otlp", [WireOtlpSpanExporter]),
        ("none", []),
        ("console", [ConsoleSpanExporter]),
        ("otlp, console", [WireOtlpSpanExporter, ConsoleSpanExporter]),
        ("otlp_proto_http", [HttpExporter]),
    ],
)
def test_otel_traces_exporter_chooses_the_exporters(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, expected: list[type]
):
    if setting is not None:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", setting)
    assert [type(e) for e in configured_exporters()] == expected


def test_an_unknown_exporter_name_is_reported_with_the_installed_ones(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaegr,otlp")
    with caplog.at_level("WARNING", logger="judgeval"):
        assert [type(e) for e in configured_exporters()] == [WireOtlpSpanExporter]
    assert "'jaegr'" in caplog.text
    assert "console" in caplog.text  # the message lists what is installed


CONSOLE_SCRIPT = """
from judgeval.tracer import Tracer
judgment = Tracer(project_name="console_project")

@judgment.observe(span_type="tool")
def lookup(order):
    return "shipped"

lookup("A1")
judgment.flush()
"""


def test_a_tracer_created_provider_honors_otel_traces_exporter(tmp_path: Path):
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    done = run_python(["-c", CONSOLE_SCRIPT], env, tmp_path)
    span = json.loads(done.stdout)
    assert span["name"] == "lookup"
    assert span["attributes"][semconv.JUDGEVAL_SPAN_TYPE] == "tool"
    assert "UNAVAILABLE" not in done.stderr  # no OTLP exporter was made next to the console one


def test_service_name_defaults_to_project_but_env_wins(monkeypatch: pytest.MonkeyPatch):
    resource = build_resource("customer_service")
    assert resource.attributes["service.name"] == "customer_service"
    assert resource.attributes[semconv.JUDGEVAL_PROJECT_NAME] == "customer_service"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "cs-prod")
    assert build_resource("customer_service").attributes["service.name"] == "cs-prod"
    monkeypatch.delenv("OTEL_SERVICE_NAME")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,deployment.environment=prod")
    attributes = build_resource("customer_service").attributes
    assert attributes["service.name"] == "from-attrs"
    assert attributes["deployment.environment"] == "prod"


REUSE_SCRIPT = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from judgeval.tracer import Tracer

exporter = InMemorySpanExporter()
app_provider = TracerProvider()
app_provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(app_provider)
first, second = Tracer(project_name="a"), Tracer(project_name="b")

@second.agent()
@first.observe()
def work():
    return None

work()
assert trace.get_tracer_provider() is app_provider
processors = app_provider._active_span_processor._span_processors
assert len(processors) == 2, processors  # the app's exporter + one attribution processor, no exporter of ours
(span,) = exporter.get_finished_spans()
assert span.attributes["gen_ai.agent.name"] == "work", dict(span.attributes)
print("reused")
"""


def test_an_installed_sdk_provider_is_reused_without_adding_an_exporter(tmp_path: Path):
    script = tmp_path / "reuse.py"
    script.write_text(REUSE_SCRIPT)
    assert run_python([str(script)], env=_env(), cwd=tmp_path).stdout.strip() == "reused"


def _env(**extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JUDG"))}
    env.update(extra)
    return env


EXIT_SCRIPT = """
from judgeval.tracer import Tracer
judgment = Tracer(project_name="exit")

@judgment.observe()
def work():
    return 1

for _ in range(10):
    work()
print("done", flush=True)
"""


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_exit_is_bounded_when_the_collector_is_unreachable(tmp_path: Path, protocol: str):
    script = tmp_path / "exit.py"
    script.write_text(EXIT_SCRIPT)
    env = _env(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{_closed_port()}",
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        # A patient user setting: with the stock SDK, exit would now wait 30 s for the export to give up.
        OTEL_EXPORTER_OTLP_TIMEOUT="60",
    )
    # The design bound is ~5 s; the generous subprocess timeout only fails on a real hang.
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=20, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"


FORK_SCRIPT = """
import os
from judgeval.tracer import Tracer
judgment = Tracer(project_name="prefork")

@judgment.observe()
def served_by(pid):
    return pid

served_by(os.getpid())  # the master traces before forking, like an app importing at startup
pid = os.fork()
if pid == 0:
    served_by(os.getpid())
    ok = judgment.flush(10_000)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
judgment.flush(10_000)
print("forked", flush=True)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_child_keeps_exporting(tmp_path: Path, receiver: OtlpTraceReceiver):
    script = tmp_path / "fork.py"
    script.write_text(FORK_SCRIPT)
    env = _env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{receiver.endpoint}")
    assert run_python([str(script)], env=env, cwd=tmp_path).stdout.strip() == "forked"
    spans = receiver.wait_for(lambda s: len(s) >= 2)
    assert len({s.attributes[semconv.JUDGEVAL_INPUT] for s in spans if s.name == "served_by"}) == 2


TWO_TRACERS_SCRIPT = """
from opentelemetry import trace
from judgeval.tracer import Tracer

first = Tracer(project_name="first")
provider = trace.get_tracer_provider()
second = Tracer(project_name="second")
assert trace.get_tracer_provider() is provider
assert len(provider._active_span_processor._span_processors) == 2  # one exporter, one attribution

@first.observe()
def one():
    two()

@second.observe()
def two():
    return None

one()
"""


def test_second_tracer_reuses_the_provider_it_created(tmp_path: Path, receiver: OtlpTraceReceiver):
    script = tmp_path / "two.py"
    script.write_text(TWO_TRACERS_SCRIPT)
    run_python(
        [str(script)], env=_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{receiver.endpoint}"), cwd=tmp_path
    )
    spans = {s.name: s for s in receiver.wait_for(lambda s: len(s) >= 2)}
    assert spans["two"].parent_span_id == spans["one"].span_id
    assert spans["two"].resource["service.name"] == "first"
    assert spans["one"].attributes[semconv.JUDGEVAL_PROJECT_NAME] == "first"
    assert spans["two"].attributes[semconv.JUDGEVAL_PROJECT_NAME] == "second"


FORK_WITH_PENDING_SCORE_SCRIPT = """
import os
import threading
from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.tracer import Tracer

judgment = Tracer(project_name="prefork-scoring")
release = threading.Event()
MASTER = os.getpid()

class SlowScorer(ExampleScorer):
    async def a_score_example(self, example):
        import asyncio
        if os.getpid() == MASTER:  # only the master's score is slow
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
        return 1.0

@judgment.observe()
def handle():
    judgment.async_evaluate(scorer=SlowScorer(), example=Example(request="hi"))

handle()  # the master's local score is still running when the child is forked
pid = os.fork()
if pid == 0:
    # The child's flush must not wait for the master's job, which can never finish in the child...
    flushed_before = judgment.flush(10_000)
    handle()  # ...and the child scores its own calls with a fresh executor
    os._exit(0 if flushed_before and judgment.flush(10_000) else 3)
_, status = os.waitpid(pid, 0)
release.set()
assert judgment.flush(10_000)
print("child exit", os.waitstatus_to_exitcode(status), flush=True)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_child_does_not_wait_for_the_masters_local_scores(
    tmp_path: Path, receiver: OtlpTraceReceiver
):
    script = tmp_path / "fork_scoring.py"
    script.write_text(FORK_WITH_PENDING_SCORE_SCRIPT)
    env = _env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{receiver.endpoint}")
    assert run_python([str(script)], env=env, cwd=tmp_path).stdout.strip() == "child exit 0"
    spans = receiver.wait_for(lambda s: len([x for x in s if x.name == "evaluate SlowScorer"]) >= 2)
    assert len([s for s in spans if s.name == "handle"]) == 2
