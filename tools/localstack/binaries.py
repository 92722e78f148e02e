"""The collector and Jaeger binaries: found in the cache, built by ``scripts/otel-binaries``, or given.

``OTELCOL``/``JAEGER`` (both set) name prebuilt binaries; otherwise the script builds them once into
``~/.cache/judgeval-otel/bin`` and prints their paths.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.localstack.procs import REPO_ROOT, STOP_TIMEOUT_S

OTEL_BINARIES_SCRIPT = REPO_ROOT / "scripts" / "otel-binaries"
GO_MISSING_EXIT_CODE = 3
"""Exit code of ``scripts/otel-binaries`` when no usable Go toolchain is installed."""
NOT_BUILT_EXIT_CODE = 4
"""Exit code of ``scripts/otel-binaries --if-cached`` when a binary is not built yet."""


class BinariesUnavailable(RuntimeError):
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
    from_env = _binaries_from_env()
    if from_env is not None:
        return from_env
    stderr = None if show_progress else subprocess.PIPE
    result = subprocess.run([str(OTEL_BINARIES_SCRIPT)], stdout=subprocess.PIPE, stderr=stderr,
                            text=True, check=False, timeout=3600)
    return _binaries_from_script(result.returncode, result.stdout, result.stderr or "")


def cached_otel_binaries() -> OtelBinaries | None:
    """The binaries if they are ready now (``OTELCOL``/``JAEGER``, or already built), else ``None``.

    Never builds (``scripts/otel-binaries --if-cached``). Raises :class:`BinariesUnavailable` when Go is
    missing.
    """
    from_env = _binaries_from_env()
    if from_env is not None:
        return from_env
    result = subprocess.run([str(OTEL_BINARIES_SCRIPT), "--if-cached"], capture_output=True, text=True,
                            check=False, timeout=120)
    if result.returncode == NOT_BUILT_EXIT_CODE:
        return None
    return _binaries_from_script(result.returncode, result.stdout, result.stderr)


class OtelBuild:
    """``scripts/otel-binaries`` running in the background, its progress lines going to ``log_path``."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            # Niced: the collector-less run that goes on meanwhile gets the CPU first.
            self._popen = subprocess.Popen(["nice", "-n", "10", str(OTEL_BINARIES_SCRIPT)],
                                           stdout=subprocess.PIPE, stderr=log,
                                           stdin=subprocess.DEVNULL, text=True)

    def wait(self, on_progress: Callable[[str], None], poll_s: float = 1.0) -> OtelBinaries:
        """Wait for the build, handing each new progress line to ``on_progress``; the binaries' paths.

        Raises like :func:`build_otel_binaries`.
        """
        shown = 0
        while True:
            done = self._popen.poll() is not None
            lines = self.log_path.read_text(errors="replace").splitlines()
            for line in lines[shown:]:
                on_progress(line)
            shown = len(lines)
            if done:
                break
            time.sleep(poll_s)
        stdout = self._popen.stdout.read() if self._popen.stdout else ""
        messages = self.log_path.read_text(errors="replace")
        return _binaries_from_script(self._popen.returncode, stdout, messages)

    def stop(self) -> None:
        """Interrupt the build (the script takes its compiler down with it)."""
        if self._popen.poll() is None:
            self._popen.terminate()
            try:
                self._popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
        if self._popen.stdout:
            self._popen.stdout.close()


def _binaries_from_env() -> OtelBinaries | None:
    otelcol_env, jaeger_env = os.environ.get("OTELCOL"), os.environ.get("JAEGER")
    if otelcol_env and jaeger_env:
        return OtelBinaries(Path(otelcol_env), Path(jaeger_env))
    return None


def _binaries_from_script(returncode: int, stdout: str, messages: str) -> OtelBinaries:
    if returncode == GO_MISSING_EXIT_CODE:
        raise BinariesUnavailable(messages.strip() or "go not found")
    if returncode != 0:
        raise RuntimeError(f"scripts/otel-binaries failed ({returncode}):\n{messages[-4000:]}")
    paths = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)
    return OtelBinaries(Path(paths["OTELCOL"]), Path(paths["JAEGER"]))
