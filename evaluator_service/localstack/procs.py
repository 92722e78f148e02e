"""Start and stop the real OpenTelemetry Collector and Jaeger binaries for tests.

The binaries come from ``scripts/otel-binaries`` (or the ``OTELCOL``/``JAEGER`` environment variables).
Every process listens on free loopback ports chosen here, writes its log to a file (shown when it fails to
become ready), and is stopped with SIGTERM so that persistent queues are closed cleanly. Nothing in this
module depends on pytest, so end-to-end suites (``tests/e2e``) can import it directly.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.environment_variables import OTEL_SDK_DISABLED

from evaluator_service.errors import EvaluatorError

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_CONFIG_DIR = REPO_ROOT / "collector-config"
OTEL_BINARIES_SCRIPT = REPO_ROOT / "scripts" / "otel-binaries"
JAEGER_LOCAL_CONFIG = COLLECTOR_CONFIG_DIR / "jaeger-local.yaml"
OTELCOL_JAEGER_CONFIG = COLLECTOR_CONFIG_DIR / "otelcol-jaeger.yaml"
GO_MISSING_EXIT_CODE = 3
"""Exit code of ``scripts/otel-binaries`` when no usable Go toolchain is installed."""

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class BinariesUnavailable(EvaluatorError, RuntimeError):
    """The binaries cannot be built here because Go is missing (the script exited with code 3)."""


@dataclass(frozen=True)
class OtelBinaries:
    """Paths of the collector distribution and the Jaeger v2 binary."""

    otelcol: Path
    jaeger: Path


def build_otel_binaries(show_progress: bool = False) -> OtelBinaries:
    """Return the binaries: from ``OTELCOL``/``JAEGER`` if both are set, else by running the build script.

    With ``show_progress`` the script's progress lines (its stderr) go to this process's stderr as they
    come. Raises :class:`BinariesUnavailable` when Go is missing, ``RuntimeError`` when the build fails.
    """
    otelcol_env, jaeger_env = os.environ.get("OTELCOL"), os.environ.get("JAEGER")
    if otelcol_env and jaeger_env:
        return OtelBinaries(Path(otelcol_env), Path(jaeger_env))
    stderr = None if show_progress else subprocess.PIPE
    result = subprocess.run([str(OTEL_BINARIES_SCRIPT)], stdout=subprocess.PIPE, stderr=stderr,
                            text=True, check=False, timeout=3600)
    messages = result.stderr or ""
    if result.returncode == GO_MISSING_EXIT_CODE:
        raise BinariesUnavailable(messages.strip() or "go not found")
    if result.returncode != 0:
        raise RuntimeError(f"scripts/otel-binaries failed ({result.returncode}):\n{messages[-4000:]}")
    paths = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return OtelBinaries(Path(paths["OTELCOL"]), Path(paths["JAEGER"]))


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bind port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_endpoint() -> str:
    """``127.0.0.1:<free port>``, the form collector and Jaeger configs take."""
    return f"127.0.0.1:{free_port()}"


class ProcessFailed(EvaluatorError, RuntimeError):
    """A binary exited or never became ready; the message carries the tail of its log."""


@dataclass
class RunningProcess:
    """A started process and its log file. It is ready when ``health_url`` answers 200, or, for a process
    without an HTTP health endpoint (the evaluator), when its log matches ``ready_log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    health_url: str | None = None
    ready_log: str | None = None
    log_offset: int = 0
    """Where this run's output starts in an appended-to log (a restart must not read the last run's)."""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the process log, for failure messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def is_ready(self) -> bool:
        if self.health_url is not None:
            return _answers_ok(self.health_url)
        if self.ready_log is not None and self.log_path.exists():
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                return re.search(self.ready_log, log.read().decode(errors="replace")) is not None
        return False

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Poll until ready; fail fast if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise ProcessFailed(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            if self.is_ready():
                return
            time.sleep(0.1)
        signal_ = self.health_url or f"log line /{self.ready_log}/"
        raise ProcessFailed(f"{self.name} not ready after {timeout}s ({signal_}):\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL at once, as a crash would."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def stop(self) -> int:
        """SIGTERM, wait for a clean shutdown (kill after ``STOP_TIMEOUT_S``); returns the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def _answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def run_binary(
    name: str, argv: list[str], env: Mapping[str, str], log_path: Path, health_url: str
) -> Iterator[RunningProcess]:
    """Start a Go binary with ``env`` added to the environment, wait until ready, stop it on exit."""
    # Keep the binaries' own OTel SDKs from exporting anywhere the host environment points them.
    with run_process(name, argv, {**os.environ, OTEL_SDK_DISABLED: "true", **env}, log_path,
                     health_url=health_url) as process:
        yield process


PORT_ATTEMPTS = 3
"""Starts tried on fresh ports when a binary finds one of its ports taken (see :func:`free_port`)."""


@contextmanager
def run_binary_on_free_ports(
    name: str,
    argv: list[str],
    make_env: Callable[[], dict[str, str]],
    log_path: Path,
    health_url_of: Callable[[Mapping[str, str]], str],
) -> Iterator[tuple[dict[str, str], RunningProcess]]:
    """:func:`run_binary` with the endpoints ``make_env`` picks, picked again if one got taken.

    A free port is only free when it is picked; until the binary binds it, any process (an outgoing
    connection's ephemeral port, say) may take it. The binary then exits with "address already in use",
    and the start is retried with new ports; any other failure is raised as it is.
    """
    for attempt in range(1, PORT_ATTEMPTS + 1):
        env = make_env()
        started = ExitStack()
        try:
            process = started.enter_context(run_binary(name, argv, env, log_path, health_url_of(env)))
        except ProcessFailed as exc:
            if "address already in use" not in str(exc) or attempt == PORT_ATTEMPTS:
                raise
            continue
        with started:
            yield env, process
        return


@contextmanager
def run_process(
    name: str, argv: list[str], env: Mapping[str, str], log_path: Path, *,
    health_url: str | None = None, ready_log: str | None = None,
) -> Iterator[RunningProcess]:
    """Start ``argv`` with exactly ``env``, wait until ready, stop it (SIGTERM) when the block exits."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Append: a restarted process (same work dir) keeps the log of its previous run.
    with log_path.open("ab") as log:
        offset = log.tell()
        popen = subprocess.Popen(argv, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
    process = RunningProcess(name, popen, log_path, health_url, ready_log, offset)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def validate_config(binary: Path, config: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``<binary> validate --config <config>`` (both otelcol and Jaeger v2 have it)."""
    return subprocess.run(
        [str(binary), "validate", f"--config={config}"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
