"""Running the apps in ``apps/`` under ``opentelemetry-instrument``, as a zero-code user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer

APPS = Path(__file__).resolve().parent / "apps"
OPENTELEMETRY_INSTRUMENT = Path(sys.executable).parent / "opentelemetry-instrument"


PACKAGE_QUESTION = "Where is my package?"


def instrumented_env(receiver: OtlpTraceReceiver, llm: RecordedOpenAIServer, **extra: str) -> dict[str, str]:
    """Environment of an app run under ``opentelemetry-instrument``, exporting to ``receiver``."""
    env = dict(os.environ)  # the autouse fixture already removed the host's SDK variables
    env |= {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{receiver.endpoint}",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "test",
        "OTEL_SERVICE_NAME": "zero-code-app",
    }
    return env | extra


def run_instrumented(app: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``opentelemetry-instrument python apps/<app>``; fails the test with stderr unless it exits cleanly."""
    done = subprocess.run(
        [str(OPENTELEMETRY_INSTRUMENT), sys.executable, str(APPS / app)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{app} exited {done.returncode}:\n{done.stderr}"
    return done
