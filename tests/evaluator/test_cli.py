"""The console command as a real process: start-up line, config errors, graceful SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import yaml
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.support.spans import make_request, make_span

COMMAND = [sys.executable, "-m", "evaluator_service"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("JUDGEVAL_EVALUATOR_", "OTEL_"))}


def test_bad_config_exits_2_with_one_line_naming_the_field(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "scorers": [
                    {"name": "a", "type": "pii"},
                    {"name": "b", "type": "pii"},
                    {"name": "c", "type": "answer_relevancy", "base_url": "http://judge/v1"},
                ]
            }
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [*COMMAND, "--config", str(config)], capture_output=True, text=True, timeout=60, env=clean_env()
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "config error: scorers[2].model: required for type answer_relevancy"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_bad_flag_value_from_env_exits_2(tmp_path: Path):
    env = clean_env() | {"JUDGEVAL_EVALUATOR_EXPORT_ENDPOINT": "https://tls:443"}
    result = subprocess.run(COMMAND, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("config error: export_endpoint: TLS endpoints are not supported")


def test_serves_on_port_zero_forwards_and_stops_on_sigterm(tmp_path: Path):
    args = ["--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")]
    with OtlpTraceReceiver() as receiver, (tmp_path / "stderr.log").open("w") as stderr:
        args += ["--export-endpoint", f"http://{receiver.endpoint}"]
        with subprocess.Popen(
            [*COMMAND, *args], stdout=subprocess.PIPE, stderr=stderr, text=True, env=clean_env()
        ) as process:
            try:
                assert process.stdout is not None
                line = process.stdout.readline().strip()
                assert line.startswith("judgeval-evaluator listening on 127.0.0.1:")
                port = int(line.rsplit(":", 1)[1])
                assert port > 0
                with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                    trace_service_pb2_grpc.TraceServiceStub(channel).Export(
                        make_request([make_span("via-cli")]), timeout=10
                    )
                receiver.wait_for(lambda spans: [s.name for s in spans] == ["via-cli"])
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
            finally:
                if process.poll() is None:
                    process.kill()
    assert (tmp_path / "data" / "queue.sqlite3").exists()
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()
