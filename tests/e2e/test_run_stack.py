"""README's first command, ``scripts/run-stack``, as a user runs it (in both of its modes)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from judgeval import semconv

from tools.localstack.binaries import OtelBinaries
from tools.localstack.ports import OTLP_GRPC_PORT
from tools.localstack.procs import REPO_ROOT

NOT_KEPT_UP = "run scripts/run-stack --keep-running to browse the traces"


def run_stack(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.localstack", "--no-keep-running", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """The user's environment, without an OpenAI key (the recorded local server answers); temporary
    directories go under ``tmp_path / "tmp"`` so the test sees what a run leaves behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OTEL_", "JUDGMENT_"))}
    (tmp_path / "tmp").mkdir()
    return env | {"TMPDIR": str(tmp_path / "tmp")}


@pytest.fixture
def standard_grpc_port_taken() -> Iterator[None]:
    """Port 4317 is taken for the test: by this listener, or already by someone else."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", OTLP_GRPC_PORT))
            sock.listen()
        except OSError:
            pass  # another process holds it: taken all the same
        yield


def test_full_stack_prints_the_score_and_the_jaeger_url(
    otel_binaries: OtelBinaries, tmp_path: Path, user_env: dict[str, str]
) -> None:
    env = user_env | {"OTELCOL": str(otel_binaries.otelcol), "JAEGER": str(otel_binaries.jaeger)}
    result = run_stack("--ports", "random", "--work-dir", str(tmp_path / "work"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "metrics for Prometheus http://" in out
    assert "Uploaded scorer 'Package Inquiry Scorer' version 1" in out
    assert f"{semconv.JUDGEVAL_EVAL_STATUS}=scored" in out
    assert "Package Inquiry Scorer: 1 (pass) - LLM evaluation: Response appropriately addresses" in out
    assert "/trace/" in out
    assert "TaskAgent (called by PlanningAgent)" in out
    assert "ResearchAgent (called by PlanningAgent)" in out
    assert "the collector takes OTLP/gRPC on 127.0.0.1:" in out
    assert f"the Jaeger URLs above no longer answer; {NOT_KEPT_UP}" in out


def go_build_cache() -> str:
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    return subprocess.run([go, "env", "GOCACHE"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.timeout(1200)
def test_first_run_scores_collector_less_while_the_binaries_build_then_runs_the_full_stack(
    otel_binaries: OtelBinaries, tmp_path: Path, user_env: dict[str, str]
) -> None:
    """No binaries in the cache: the build goes on in the background (here only its link steps: Go's
    build cache is the one the binaries were built with) while a collector-less run scores."""
    if os.environ.get("OTELCOL") and os.environ.get("JAEGER"):
        pytest.skip("binaries given by OTELCOL/JAEGER: Go's build cache may be cold, a build would take long")
    binary_cache = tmp_path / "xdg-cache"
    env = user_env | {"XDG_CACHE_HOME": str(binary_cache), "GOCACHE": go_build_cache()}
    result = run_stack("--ports", "random", "--work-dir", str(tmp_path / "work"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    building = out.index("==> the collector and Jaeger are not built yet: building them in the background")
    first_score = out.index("Package Inquiry Scorer: 1 (pass)", building)
    waiting = out.index("==> collector-less run done; waiting for the collector and Jaeger", first_score)
    total = out.index("otel-binaries: building jaeger: ", waiting)
    full_score = out.index("Package Inquiry Scorer: 1 (pass)", total)
    assert "/trace/" in out[full_score:]
    assert "the evaluator takes OTLP/gRPC on" in out[building:first_score]
    assert "the collector takes OTLP/gRPC on" in out[total:full_score]
    built = sorted(p.name for p in (binary_cache / "judgeval-otel" / "bin").iterdir())
    assert built == sorted([otel_binaries.jaeger.name, otel_binaries.otelcol.name])


def test_collector_less_mode_writes_the_enriched_spans_to_a_file(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    work = tmp_path / "work"
    result = run_stack("--no-collector", "--ports", "random", "--work-dir", str(work), env=user_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Package Inquiry Scorer: 1 (pass)" in result.stdout
    records = [json.loads(line) for line in (work / "spans.jsonl").read_text().splitlines()]
    scored = [r for r in records if r["attributes"].get(semconv.JUDGEVAL_EVAL_STATUS) == "scored"]
    assert scored and all(r["name"] == "handle_request" for r in scored)
    assert {r["name"] for r in records} >= {"run", "handle_request", "chat gpt-5-mini", "plan", "research"}
    assert f"the spans file stays in {work}; {NOT_KEPT_UP}" in result.stdout


@pytest.mark.usefixtures("standard_grpc_port_taken")
def test_a_taken_standard_port_is_replaced_and_said_and_the_temporary_work_dir_is_removed(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    result = run_stack("--no-collector", env=user_env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("==> port 4317 is taken")]
    assert len(lines) == 1, result.stdout
    endpoint = lines[0].split(" on ")[1].split(" ")[0]
    assert lines[0].endswith(f"instead; set OTEL_EXPORTER_OTLP_ENDPOINT=http://{endpoint}")
    assert endpoint != f"127.0.0.1:{OTLP_GRPC_PORT}"
    assert "Package Inquiry Scorer: 1 (pass)" in result.stdout
    assert "the spans file goes with the temporary work dir" in result.stdout
    assert list((tmp_path / "tmp").glob("judgeval-stack-*")) == []


def test_config_reaches_the_evaluator_and_a_failed_run_keeps_its_logs(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    config = tmp_path / "evaluator.yaml"
    config.write_text("scoring:\n  concurrency: many\n")
    result = run_stack("--no-collector", "--ports", "random", "--config", str(config), env=user_env)
    assert result.returncode == 1
    assert "config error: scoring.concurrency" in result.stdout
    [kept] = list((tmp_path / "tmp").glob("judgeval-stack-*"))
    assert f"!!  the run failed; logs are in {kept}" in result.stdout
    assert "config error: scoring.concurrency" in (kept / "evaluator.log").read_text()


def test_a_missing_config_file_is_one_usage_line(tmp_path: Path, user_env: dict[str, str]) -> None:
    result = run_stack("--config", str(tmp_path / "nope.yaml"), env=user_env)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"scripts/run-stack: error: --config {tmp_path / 'nope.yaml'}: no such file"
    )


def test_help_is_plain_text(user_env: dict[str, str]) -> None:
    result = run_stack("--help", env=user_env)
    assert result.returncode == 0
    assert "``" not in result.stdout and ":mod:" not in result.stdout
    assert "--ports {standard,random}" in result.stdout
    assert "--config FILE" in result.stdout
    assert "4317 (gRPC) and 4318 (HTTP)" in result.stdout
