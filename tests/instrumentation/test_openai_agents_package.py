"""The real OpenAI Agents SDK with the real OpenInference instrumentation, zero code, into the evaluator.

An unmodified ``openai-agents`` app runs under ``opentelemetry-instrument`` with
``openinference-instrumentation-openai-agents`` (both from PyPI, in a venv of their own layered over this
one, since their instrumentor entry point would join every other zero-code test here) against the recorded
OpenAI-compatible server, and exports to a real evaluator whose rule knows only the agent's name. The LLM
span must carry the agent (handed down from OpenInference's AGENT span) and be scored on what the agent said
(read from OpenInference's ``llm.output_messages``), with no mapping in the rule.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from judgeval import environment_variables, semconv
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer, Recording

from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config

from .zero_code import APPS

PINNED = ("openai-agents==0.24.0", "openinference-instrumentation-openai-agents==2.6.0")
"""Versions that resolve beside this project's dependencies (the newest on the day they were pinned)."""
VENVS = Path.home() / ".cache" / "judgeval-otel" / "test-venvs"


def _layered_venv(packages: tuple[str, ...]) -> Path:
    """A venv that sees this environment's packages (judgeval included) plus ``packages``; built once per
    set of pins and kept (a failed install leaves no marker, so the next run builds it again)."""
    base = sysconfig.get_paths()["purelib"]
    key = hashlib.sha256("\n".join((base, *packages)).encode()).hexdigest()[:12]
    venv = VENVS / f"openai-agents-{key}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    # addsitedir (not a plain path) so this environment's own .pth files, the editable install's, are read.
    Path(purelib, "judgeval-base.pth").write_text(f"import site; site.addsitedir({base!r})\n", "utf-8")
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *packages],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, f"pip install {' '.join(packages)} failed:\n{done.stderr[-3000:]}"
    marker.write_text("\n".join(packages), "utf-8")
    return python


@pytest.fixture(scope="module")
def agents_python() -> Path:
    return _layered_venv(PINNED)


@pytest.fixture
def weather_llm() -> Iterator[RecordedOpenAIServer]:
    with RecordedOpenAIServer([Recording(answer="It is sunny in Oslo, 21 degrees.")]) as server:
        yield server


def _run_app(python: Path, port: int, llm: RecordedOpenAIServer) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) | {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_SERVICE_NAME": "weather-app",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "test",
        # Only OpenInference makes LLM spans here: not judgeval's own, not the official OpenAI one.
        environment_variables.JUDGEVAL_OPENAI_SPANS: "off",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai",
    }
    launcher = "import sys; from opentelemetry.instrumentation.auto_instrumentation import run; run()"
    return subprocess.run(
        [str(python), "-c", launcher, str(python), str(APPS / "openai_agents_app.py")],
        env=env, capture_output=True, text=True, timeout=180,
    )


async def test_an_openai_agents_llm_span_is_scored_by_a_rule_on_the_agent_name(
    agents_python: Path, weather_llm: RecordedOpenAIServer, tmp_path: Path
):
    doc = {
        "scorers": [{"name": "mentions_weather", "type": "keyword", "options": {"keywords": ["sunny"]}}],
        "rules": [{
            "name": "weather-agent-answers",
            "when": {semconv.GEN_AI_AGENT_NAME: "WeatherAgent", semconv.OPENINFERENCE_SPAN_KIND: "LLM"},
            "scorer": "mentions_weather",
        }],
    }
    (tmp_path / "evaluator.yaml").write_text(yaml.safe_dump(doc), "utf-8")
    with OtlpTraceReceiver() as backend:
        config = load_config(listen="127.0.0.1:0", export_endpoint=backend.endpoint,
                             data_dir=str(tmp_path / "data"), config_file=str(tmp_path / "evaluator.yaml"),
                             environ=dict(os.environ))
        app = EvaluatorApp(config)
        await app.start()
        try:
            done = await asyncio.to_thread(_run_app, agents_python, app.port, weather_llm)
            assert done.returncode == 0, done.stderr[-3000:]
            assert "sunny" in done.stdout
            received = await asyncio.to_thread(
                backend.wait_for, lambda spans: any(semconv.JUDGEVAL_EVAL_RULE in s.attributes for s in spans)
                and any(s.name == "WeatherAgent" for s in spans), 30.0,
            )
        finally:
            await app.stop(grace=2.0)
    by_name = {s.name: s for s in received}
    assert by_name["WeatherAgent"].scope == "openinference.instrumentation.openai_agents"
    llm_span = by_name["response"]
    assert llm_span.attributes[semconv.GEN_AI_AGENT_NAME] == "WeatherAgent"  # handed down from AGENT
    assert llm_span.attributes[semconv.JUDGEVAL_EVAL_RULE] == "weather-agent-answers"
    assert llm_span.attributes[score_attribute("mentions_weather", ScoreField.VALUE)] == 1.0
    assert llm_span.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.PASS
    scored = [s.name for s in received if semconv.JUDGEVAL_EVAL_RULE in s.attributes]
    assert scored == ["response"]  # one LLM span, scored once
