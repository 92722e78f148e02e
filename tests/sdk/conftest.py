"""Fixtures for the SDK tests: a private TracerProvider per test, and the real local stand-ins."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer
from judgeval.tracer import Tracer
from opentelemetry.sdk.trace import TracerProvider

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"



@pytest.fixture
def judgment(provider: TracerProvider) -> Tracer:
    return Tracer(project_name="sdk-tests", tracer_provider=provider)


@pytest.fixture
def openai_server() -> Iterator[RecordedOpenAIServer]:
    with RecordedOpenAIServer() as server:
        yield server


@pytest.fixture
def agent_env(
    monkeypatch: pytest.MonkeyPatch, receiver: OtlpTraceReceiver, openai_server: RecordedOpenAIServer
) -> dict[str, str]:
    """Environment for an agent subprocess exporting to ``receiver`` and calling ``openai_server``."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://{receiver.endpoint}")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    return dict(os.environ)


def run_python(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` in ``cwd``; fail the test with its stderr if it does not exit cleanly."""
    done = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stderr}"
    return done
