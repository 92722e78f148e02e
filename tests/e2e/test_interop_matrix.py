"""The interop matrix: the OpenAI instrumentations people use, each with an unmodified app under
``opentelemetry-instrument`` (judgeval installed too: its distro and instrumentor load as well), through the
real collector (``otelcol-jaeger.yaml``) to a real evaluator with one YAML rule, into the real Jaeger.

| case | what the user installed next to judgeval | the LLM span comes from |
|---|---|---|
| official | ``opentelemetry-instrumentation-genai-openai`` (dev venv) | the official instrumentation |
| openinference | ``openinference-instrumentation-openai`` (own venv) | OpenInference |
| openllmetry | ``opentelemetry-instrumentation-openai`` (own venv) | OpenLLMetry |
| langchain | ``langchain-openai`` (own venv) | judgeval's instrumentor |
| langchain-official | ``langchain-openai`` + the official one (dev venv) | the official instrumentation |

Their ``openai`` entry points clash, so each third-party one gets a venv of its own holding only judgeval
and it (:func:`tests.support.venvs.isolated_venv`). The rule names no attribute of any vocabulary (it selects
the app's service) and maps nothing: the evaluator must read the example from whatever vocabulary the span
speaks. Asserted in Jaeger, per call: exactly one LLM span (from the expected instrumentation), scored once
(``judgeval.eval.status=scored``, one ``gen_ai.evaluation.result`` event); no agent identity is invented
(none of these frameworks names an agent).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from judgeval import semconv

from tests.support.polling import eventually
from tests.support.venvs import isolated_venv
from tools.localstack.binaries import OtelBinaries
from tools.localstack.jaeger_query import JaegerQuery, JaegerSpan
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator
from tools.localstack.stack import JaegerInstance, start_collector

APPS = Path(__file__).parent / "apps"
SERVICE = "interop-shop"
REQUESTS = 2
"""Requests per model (two models); each is its own trace: ``handle-request`` with one LLM call."""
RULE = {"name": "shop-pii", "when": {"service.name": SERVICE}, "scorer": "pii", "threshold": 1.0}
ROOT = "handle-request"

OPENINFERENCE_OPENAI = "openinference-instrumentation-openai==0.1.66"
OPENLLMETRY_OPENAI = "opentelemetry-instrumentation-openai==0.62.4"
LANGCHAIN_OPENAI = "langchain-openai>=1,<2"
"""Pinned versions known to resolve next to judgeval (documented in README's interop table)."""


@dataclass(frozen=True)
class Case:
    """One column of the matrix: what is installed, which app runs, whose span the LLM call makes."""

    packages: tuple[str, ...] | None
    """Installed with judgeval into a venv of their own; ``None``: the dev venv as it is."""
    app: str
    scope: str
    """The instrumentation scope of the LLM span."""


CASES = {
    "official": Case(None, "zero_code_app.py", "opentelemetry.instrumentation.genai.openai"),
    "openinference": Case((OPENINFERENCE_OPENAI, "openai"), "zero_code_app.py",
                          "openinference.instrumentation.openai"),
    "openllmetry": Case((OPENLLMETRY_OPENAI, "openai"), "zero_code_app.py",
                        "opentelemetry.instrumentation.openai.v1"),
    "langchain": Case((LANGCHAIN_OPENAI,), "langchain_app.py", "judgeval.instrumentation"),
    "langchain-official": Case(None, "langchain_app.py", "opentelemetry.instrumentation.genai.openai"),
}


@pytest.fixture(scope="module")
def bin_dir_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A case's ``bin/`` directory (``python`` and ``opentelemetry-instrument``), its venv built once."""
    built: dict[str, Path] = {}

    def bin_dir(name: str) -> Path:
        packages = CASES[name].packages
        if packages is None:
            return Path(sys.executable).parent
        if name not in built:
            built[name] = isolated_venv(tmp_path_factory.mktemp(f"venv-{name}"), packages).parent
        return built[name]

    return bin_dir


def run_app(bin_dir: Path, app: str, env: StackEnv, collector_endpoint: str) -> None:
    """The app, configured only through standard variables (the judgeval distro fills in the rest)."""
    app_env = env.process_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{collector_endpoint}", OTEL_SERVICE_NAME=SERVICE
    )
    done = subprocess.run(
        [str(bin_dir / "opentelemetry-instrument"), str(bin_dir / "python"), str(APPS / app), str(REQUESTS)],
        env=app_env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    answers = done.stdout.splitlines()
    assert len(answers) == 2 * REQUESTS and all("package" in a for a in answers), done.stdout


def marked(trace: list[JaegerSpan]) -> bool:
    """Both spans arrived and the LLM span came back from the evaluator (marked)."""
    return len(trace) >= 2 and all(
        semconv.JUDGEVAL_EVAL_STATUS in s.attributes for s in trace if s.name != ROOT
    )


def all_traces(query: JaegerQuery) -> list[list[JaegerSpan]]:
    """Every trace of the app, read in full once Jaeger has all of them complete and marked."""

    def complete() -> list[list[JaegerSpan]] | None:
        found = query.find_traces(SERVICE)
        ready = len(found) >= 2 * REQUESTS and all(marked(t) for t in found)
        return [query.trace(t[0].trace_id) for t in found] if ready else None

    return eventually(complete, lambda: f"Jaeger has {query.find_traces(SERVICE)}", timeout=120)


def span_scopes(query: JaegerQuery, trace_id: str) -> dict[str, str]:
    """Span id (hex) → instrumentation scope name, from Jaeger's OTLP-JSON answer (API v3)."""
    with urllib.request.urlopen(f"{query.base_url}/api/v3/traces/{trace_id}", timeout=10) as answer:
        document = json.load(answer)
    return {
        span["spanId"]: scope_spans["scope"]["name"]
        for resource_spans in document["result"]["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    }


def check_trace(query: JaegerQuery, trace: list[JaegerSpan], case: Case) -> None:
    (root,) = [s for s in trace if s.name == ROOT]
    (llm_span,) = [s for s in trace if s.name != ROOT]  # exactly one LLM span for the one call
    assert len(trace) == 2, [s.name for s in trace]
    assert llm_span.parent_span_id == root.span_id
    assert span_scopes(query, root.trace_id)[llm_span.span_id] == case.scope
    assert semconv.JUDGEVAL_EVAL_STATUS not in root.attributes  # not a candidate: never through the evaluator
    attrs = llm_span.attributes
    events = [e for name, e in llm_span.events if name == semconv.GEN_AI_EVALUATION_RESULT_EVENT]
    assert attrs[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED, attrs
    assert attrs[semconv.JUDGEVAL_EVAL_RULE] == RULE["name"]
    assert attrs[semconv.score_attribute("pii", semconv.ScoreField.VALUE)] == 1.0
    assert attrs[semconv.JUDGEVAL_EVAL_SUCCESS] is True
    assert [e[semconv.GEN_AI_EVALUATION_NAME] for e in events] == ["pii"]  # scored once
    assert semconv.GEN_AI_AGENT_NAME not in attrs  # no framework here names an agent; none is invented


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", list(CASES))
def test_one_llm_span_per_call_scored_once_in_jaeger(
    name: str,
    bin_dir_of: Callable[[str], Path],
    otel_binaries: OtelBinaries,
    jaeger: JaegerInstance,
    stack_env: StackEnv,
) -> None:
    case = CASES[name]
    bin_dir = bin_dir_of(name)
    rules = stack_env.work_dir / "rules.yaml"
    rules.write_text(yaml.safe_dump({"rules": [RULE]}))
    evaluator_endpoint = free_endpoint()
    with (
        start_collector(
            otel_binaries.otelcol, stack_env.work_dir / "otelcol", evaluator_endpoint,
            jaeger.otlp_grpc_endpoint,
        ) as collector,
        start_evaluator(stack_env, evaluator_endpoint, collector.grpc_endpoint, "--config", str(rules)),
    ):
        run_app(bin_dir, case.app, stack_env, collector.grpc_endpoint)
        traces = all_traces(jaeger.query)

    assert len(traces) == 2 * REQUESTS
    for trace in traces:
        check_trace(jaeger.query, trace, case)
