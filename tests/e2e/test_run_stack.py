"""README's first command, ``scripts/run-stack``, as a user runs it (in both of its modes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from judgeval import semconv

from evaluator_service.localstack.procs import OtelBinaries


def run_stack(tmp_path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "evaluator_service.localstack",
            "--no-keep-running",
            "--work-dir",
            str(tmp_path),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def user_env() -> dict[str, str]:
    """The user's environment, without an OpenAI key: the recorded local server answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OTEL_", "JUDGMENT_"))}
    return env


def test_full_stack_prints_the_score_and_the_jaeger_url(
    otel_binaries: OtelBinaries, tmp_path: Path, user_env: dict[str, str]
) -> None:
    env = user_env | {"OTELCOL": str(otel_binaries.otelcol), "JAEGER": str(otel_binaries.jaeger)}
    result = run_stack(tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "metrics for Prometheus http://" in out
    assert "Uploaded scorer 'Package Inquiry Scorer' version 1" in out
    assert f"{semconv.JUDGEVAL_EVAL_STATUS}=scored" in out
    assert "Package Inquiry Scorer: 1 (pass) - LLM evaluation: Response appropriately addresses" in out
    assert "/trace/" in out
    assert "TaskAgent (called by PlanningAgent)" in out
    assert "ResearchAgent (called by PlanningAgent)" in out


def test_collector_less_mode_writes_the_enriched_spans_to_a_file(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    result = run_stack(tmp_path, "--no-collector", env=user_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Package Inquiry Scorer: 1 (pass)" in result.stdout
    records = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    scored = [r for r in records if r["attributes"].get(semconv.JUDGEVAL_EVAL_STATUS) == "scored"]
    assert scored and all(r["name"] == "handle_request" for r in scored)
    assert {r["name"] for r in records} >= {"run", "handle_request", "chat gpt-5-mini", "plan", "research"}
