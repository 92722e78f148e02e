"""README's first command, ``scripts/run-stack``, as a user runs it (in both of its modes)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from judgeval import semconv

from tools.localstack.binaries import OtelBinaries
from tools.localstack.ports import CONSOLE_PORT, OTLP_GRPC_PORT
from tools.localstack.procs import REPO_ROOT

NOT_KEPT_UP = "run scripts/run-stack --keep-running to browse the traces and the console"
STAYS_UP = "==> the stack stays up; press Ctrl-C to stop it"
CONSOLE_WAIT_S = 60.0
"""How long the overview may take to show the scorer (the console's counters are flushed every 5 s)."""


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
def standard_ports_taken() -> Iterator[None]:
    """Ports 4317 (OTLP/gRPC) and 8080 (the console) are taken for the test: by these listeners, or
    already by someone else."""
    with contextlib.ExitStack() as taken:
        for port in (OTLP_GRPC_PORT, CONSOLE_PORT):
            sock = taken.enter_context(socket.socket())
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
            except OSError:
                pass  # another process holds it: taken all the same
        yield


@contextlib.contextmanager
def stack_kept_up(*args: str, env: dict[str, str], stop: signal.Signals = signal.SIGINT
                  ) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``scripts/run-stack --keep-running``, as from a terminal: yields once it says it stays up (with its
    output so far), then presses Ctrl-C (SIGINT; or sends ``stop``) and waits for it to stop."""
    stack = subprocess.Popen(
        [sys.executable, "-m", "tools.localstack", "--keep-running", *args], cwd=REPO_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )
    assert stack.stdout is not None
    lines: list[str] = []
    try:
        for line in stack.stdout:
            lines.append(line.rstrip("\n"))
            if lines[-1] == STAYS_UP:
                break
        assert lines and lines[-1] == STAYS_UP, "\n".join(lines)
        yield stack, lines
    finally:
        stack.send_signal(stop)
        try:
            rest, _ = stack.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            stack.kill()
            rest, _ = stack.communicate()
        lines.extend(rest.splitlines())


def console_of(lines: list[str]) -> tuple[str, str]:
    """The console URL and the key that the stack's summary printed."""
    [where] = [line for line in lines if line.startswith("==> ") and "the console on http://" in line]
    url = where.partition("the console on ")[2].split(" ")[0]
    [key_line] = [line for line in lines if line.startswith("    log in with the stack's key: ")]
    return url, key_line.rpartition(": ")[2]


def cli_as_the_summary_says(lines: list[str], *args: str, env: dict[str, str]) -> str:
    """Run ``judgeval ARGS`` with the settings the summary's CLI line says to export; its stdout."""
    [cli] = [line for line in lines if line.startswith("==> the judgeval CLI: export ")]
    exported = cli.removeprefix("==> the judgeval CLI: export ").split()
    settings = dict(setting.split("=", 1) for setting in exported)
    result = subprocess.run([str(Path(sys.executable).parent / "judgeval"), *args], env=env | settings,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def overview_after_login(url: str, key: str) -> str:
    """GET the console (the login page), POST the key to its form, then the overview once it lists the
    docs' scorer (or as it is when ``CONSOLE_WAIT_S`` is up)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        login_page = http.get("/", follow_redirects=True)
        assert login_page.status_code == 200 and login_page.url.path == "/login"
        assert 'action="/login"' in login_page.text and 'name="key"' in login_page.text
        login = http.post("/login", data={"key": key, "next": "/"})
        assert login.status_code == 303 and login.headers["Location"] == "/"
        assert "judgeval_console" in http.cookies
        deadline = time.monotonic() + CONSOLE_WAIT_S
        while True:
            overview = http.get("/")
            assert overview.status_code == 200 and overview.url.path == "/", overview.url
            if "Package Inquiry Scorer" in overview.text or time.monotonic() > deadline:
                return overview.text
            time.sleep(1.0)


def test_full_stack_prints_the_score_the_jaeger_url_and_a_console_that_answers(
    otel_binaries: OtelBinaries, tmp_path: Path, user_env: dict[str, str]
) -> None:
    env = user_env | {"OTELCOL": str(otel_binaries.otelcol), "JAEGER": str(otel_binaries.jaeger)}
    with stack_kept_up("--ports", "random", "--work-dir", str(tmp_path / "work"), env=env) as (stack, lines):
        url, key = console_of(lines)
        assert url.startswith("http://127.0.0.1:")
        overview = overview_after_login(url, key)
        scorers = cli_as_the_summary_says(lines, "scorers", "list", env=env)
    assert "Package Inquiry Scorer" in scorers
    assert "Package Inquiry Scorer" in overview
    assert key not in overview
    assert stack.returncode == 0, "\n".join(lines)
    out = "\n".join(lines)
    assert "metrics for Prometheus http://" in out
    assert "Uploaded scorer 'Package Inquiry Scorer' version 1" in out
    assert f"{semconv.JUDGEVAL_EVAL_STATUS}=scored" in out
    assert "Package Inquiry Scorer: 1 (pass) - LLM evaluation: Response appropriately addresses" in out
    assert "/trace/" in out
    assert "TaskAgent (called by PlanningAgent)" in out
    assert "ResearchAgent (called by PlanningAgent)" in out
    assert "the collector takes OTLP/gRPC on 127.0.0.1:" in out
    [jaeger_ui] = [line.split(" ")[4] for line in lines if line.startswith("==> Jaeger UI on http://")]
    console_config = yaml.safe_load((tmp_path / "work" / "evaluator-console.yaml").read_text())
    assert console_config == {"console": {"trace_url": f"{jaeger_ui}/trace/{{trace_id}}?uiFind={{span_id}}"}}
    assert out.index("ResearchAgent (called by PlanningAgent)") < out.index("the console on http://")


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
    assert "the console on http://127.0.0.1:" in out[first_score:waiting]
    assert "the console on http://127.0.0.1:" in out[full_score:]
    assert f"the Jaeger and console URLs above no longer answer; {NOT_KEPT_UP}" in out
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
    url, key = console_of(result.stdout.splitlines())  # collector-less, the console is there too
    assert url.startswith("http://127.0.0.1:") and len(key) >= 24


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_or_a_closed_terminal_stops_every_process_of_the_stack(
    stop: signal.Signals, tmp_path: Path, user_env: dict[str, str]
) -> None:
    work = tmp_path / "work"
    with stack_kept_up("--no-collector", "--ports", "random", "--work-dir", str(work), env=user_env,
                       stop=stop) as (stack, lines):
        [said] = [line for line in lines if line.startswith("==> the evaluator takes OTLP/gRPC on ")]
        host, port = said.split(" on ")[1].split(" ")[0].rsplit(":", 1)
    assert stack.returncode == 0, "\n".join(lines)
    with pytest.raises(ConnectionRefusedError):  # the evaluator it started is gone with it
        socket.create_connection((host, int(port)), timeout=5).close()


@pytest.mark.usefixtures("standard_ports_taken")
def test_taken_standard_ports_are_replaced_and_said_and_the_temporary_work_dir_is_removed(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    result = run_stack("--no-collector", env=user_env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("==> port 4317 is taken")]
    assert len(lines) == 1, result.stdout
    endpoint = lines[0].split(" on ")[1].split(" ")[0]
    assert lines[0].endswith(f"instead; set OTEL_EXPORTER_OTLP_ENDPOINT=http://{endpoint}")
    assert endpoint != f"127.0.0.1:{OTLP_GRPC_PORT}"
    [console] = [line for line in result.stdout.splitlines() if line.startswith("==> port 8080 is taken")]
    assert console.startswith("==> port 8080 is taken: the console on http://127.0.0.1:"), console
    assert console.endswith(" instead; open that address") and ":8080 " not in console
    assert "Package Inquiry Scorer: 1 (pass)" in result.stdout
    assert "the console URL above no longer answers; the spans file goes with the temporary work dir" in (
        result.stdout)
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
