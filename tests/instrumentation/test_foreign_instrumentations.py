"""``JUDGEVAL_OPENAI_SPANS=auto`` next to every common OpenAI/Anthropic instrumentation: one LLM span a call.

OpenInference and OpenLLMetry register ``opentelemetry_instrumentor`` entry points named ``openai`` /
``anthropic`` like the official one, so installed together in the dev venv they would all load under
``opentelemetry-instrument`` and break the other zero-code tests. They are installed (pinned versions that
resolve together, from pip's cache) into a venv of their own under ``tmp_path`` that sees the dev venv's
packages through a ``.pth`` file; each instrumentation is then driven in its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from judgeval import environment_variables, semconv
from judgeval.testing import RecordedOpenAIServer

from tests.support.venvs import overlay_venv

from .zero_code import APPS

INTEROP_PACKAGES = (
    "openinference-instrumentation-openai==0.1.66",
    "opentelemetry-instrumentation-openai==0.62.4",
    "openinference-instrumentation-anthropic==3.1.0",
    "opentelemetry-instrumentation-anthropic==0.62.4",
)
"""Pinned versions known to co-install with the dev extra (documented in README)."""

# (instrumentor, vendor, the instrumentation scope of its spans, whether its uninstrument() leaves its
# wrappers on the client methods, still making spans: OpenLLMetry's OpenAI one does)
INSTRUMENTATIONS = [
    pytest.param(
        "opentelemetry.instrumentation.genai.openai:OpenAIInstrumentor",
        "openai",
        "opentelemetry.instrumentation.genai.openai",
        False,
        id="official-openai",
    ),
    pytest.param(
        "openinference.instrumentation.openai:OpenAIInstrumentor",
        "openai",
        "openinference.instrumentation.openai",
        False,
        id="openinference-openai",
    ),
    pytest.param(
        "opentelemetry.instrumentation.openai:OpenAIInstrumentor",
        "openai",
        "opentelemetry.instrumentation.openai.v1",
        True,
        id="openllmetry-openai",
    ),
    pytest.param(
        "openinference.instrumentation.anthropic:AnthropicInstrumentor",
        "anthropic",
        "openinference.instrumentation.anthropic",
        False,
        id="openinference-anthropic",
    ),
    pytest.param(
        "opentelemetry.instrumentation.anthropic:AnthropicInstrumentor",
        "anthropic",
        "opentelemetry.instrumentation.anthropic",
        False,
        id="openllmetry-anthropic",
    ),
]


@pytest.fixture(scope="module")
def interop_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the third-party instrumentations, seeing the dev venv (judgeval included) beneath them."""
    return overlay_venv(tmp_path_factory.mktemp("interop-venv"), INTEROP_PACKAGES)


def _run_app(python: Path, instrumentor: str, vendor: str, llm: RecordedOpenAIServer) -> list[dict]:
    env = dict(os.environ) | {"OPENAI_BASE_URL": llm.base_url}
    env.pop(environment_variables.JUDGEVAL_OPENAI_SPANS, None)  # the default, auto
    done = subprocess.run(
        [str(python), str(APPS / "foreign_instrumentation_app.py"), instrumentor, vendor],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{instrumentor} app exited {done.returncode}:\n{done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize(("instrumentor", "vendor", "scope", "leaves_wrappers"), INSTRUMENTATIONS)
def test_one_llm_span_per_call_with_agent_attribution(
    interop_python: Path,
    llm: RecordedOpenAIServer,
    instrumentor: str,
    vendor: str,
    scope: str,
    leaves_wrappers: bool,
):
    *calls, after = _run_app(interop_python, instrumentor, vendor, llm)
    assert len(calls) >= 4
    for call in calls:
        assert [span["scope"] for span in call["spans"]] == [scope], call["call"]
        (span,) = call["spans"]
        assert span["attributes"][semconv.GEN_AI_AGENT_NAME] == "SupportAgent", call["call"]
    # Undone, the other instrumentation no longer counts though its package stays imported; wrappers it
    # left on the method still make their span, and judgeval still makes none next to them.
    assert after["call"] == "after uninstrument"
    (span,) = after["spans"]
    assert span["scope"] == scope if leaves_wrappers else span["scope"].startswith("judgeval")
    assert span["attributes"][semconv.GEN_AI_AGENT_NAME] == "SupportAgent"
