"""Zero-code monitoring through the collector, all real: an unmodified OpenAI app under
``opentelemetry-instrument`` (the official ``opentelemetry-instrumentation-genai-openai``, from the dev extra)
→ collector → evaluator with a YAML rule → collector → Jaeger.

app ──▶ collector ─┬─ LLM spans (rule candidates) ──▶ evaluator: rule matches → scored; else not_selected ─┐
                   └─ its own plain span ───────────────────────────────────────────────────────▶ Jaeger ◀─┘
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from judgeval import semconv

from evaluator_service.localstack.jaeger_query import JaegerQuery, JaegerSpan
from evaluator_service.localstack.procs import OtelBinaries, free_endpoint
from evaluator_service.localstack.runner import StackEnv, start_evaluator
from evaluator_service.localstack.stack import JaegerInstance, start_collector

from .metrics_receiver import OtlpMetricsReceiver
from .replicas import load_balanced_replicas

OPENTELEMETRY_INSTRUMENT = Path(sys.executable).parent / "opentelemetry-instrument"
OFFICIAL_SCOPE = "opentelemetry.instrumentation.genai.openai"
APP = Path(__file__).parent / "apps" / "zero_code_app.py"
SERVICE = "zero-code-shop"
REQUESTS = 3
"""Requests per model; each is its own trace: ``handle-request`` with one ``chat <model>`` child."""
RULE = {"name": "mini-pii", "when": {semconv.GEN_AI_REQUEST_MODEL: "gpt-5-mini"}, "scorer": "pii",
        "threshold": 1.0}
SCORED, NOT_SELECTED = semconv.EvalStatus.SCORED, semconv.EvalStatus.NOT_SELECTED

pytestmark = pytest.mark.skipif(
    not OPENTELEMETRY_INSTRUMENT.exists(), reason="needs opentelemetry-instrument (the dev extra)"
)


def rules_file(env: StackEnv) -> str:
    path = env.work_dir / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": [RULE]}))
    return str(path)


def run_app(env: StackEnv, collector_endpoint: str) -> None:
    """The app, configured only through standard variables (the judgeval distro fills in the rest)."""
    app_env = env.process_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{collector_endpoint}", OTEL_SERVICE_NAME=SERVICE
    )
    done = subprocess.run(
        [str(OPENTELEMETRY_INSTRUMENT), sys.executable, str(APP), str(REQUESTS)],
        env=app_env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 2 * REQUESTS, done.stdout


def complete(trace: list[JaegerSpan]) -> bool:
    chats = [s for s in trace if s.name.startswith("chat ")]
    return len(trace) >= 2 and all(semconv.JUDGEVAL_EVAL_STATUS in s.attributes for s in chats)


def all_traces(query: JaegerQuery, timeout: float = 120) -> list[list[JaegerSpan]]:
    """Every trace of the app, once Jaeger has all of them with both spans and the LLM span marked."""
    deadline = time.monotonic() + timeout
    while True:
        found = query.find_traces(SERVICE)
        if len(found) >= 2 * REQUESTS and all(complete(t) for t in found):
            return [query.trace(t[0].trace_id) for t in found]  # each trace read in full
        if time.monotonic() > deadline:
            raise TimeoutError(f"Jaeger has {[[s.name for s in t] for t in found]}")
        time.sleep(0.3)


def check_traces(traces: list[list[JaegerSpan]], scored_by: Callable[[str], bool]) -> None:
    assert len(traces) == 2 * REQUESTS
    models: Counter[str] = Counter()
    for trace in traces:
        (root,) = [s for s in trace if s.name == "handle-request"]
        (chat,) = [s for s in trace if s.name != "handle-request"]  # every span exactly once
        assert len(trace) == 2
        assert chat.parent_span_id == root.span_id
        assert chat.attributes[semconv.GEN_AI_OPERATION_NAME] == "chat"
        # Not a candidate: straight to Jaeger, never through the evaluator (which marks all it forwards).
        assert semconv.JUDGEVAL_EVAL_STATUS not in root.attributes
        model = chat.attributes[semconv.GEN_AI_REQUEST_MODEL]
        models[model] += 1
        events = [attrs for name, attrs in chat.events if name == semconv.GEN_AI_EVALUATION_RESULT_EVENT]
        if model == "gpt-5-mini":  # the rule's: scored once
            assert chat.attributes[semconv.JUDGEVAL_EVAL_STATUS] == SCORED
            assert chat.attributes[semconv.JUDGEVAL_EVAL_RULE] == RULE["name"]
            assert chat.attributes[semconv.score_attribute("pii", semconv.ScoreField.VALUE)] == 1.0
            assert chat.attributes[semconv.JUDGEVAL_EVAL_SUCCESS] is True
            assert [e[semconv.GEN_AI_EVALUATION_NAME] for e in events] == ["pii"]
            assert scored_by(chat.attributes[semconv.JUDGEVAL_EVAL_EVALUATOR])
        else:  # a candidate no rule matched: through the evaluator once, marked, unscored
            assert chat.attributes[semconv.JUDGEVAL_EVAL_STATUS] == NOT_SELECTED
            assert semconv.JUDGEVAL_EVAL_RULE not in chat.attributes
            assert events == []
    assert models == {"gpt-5-mini": REQUESTS, "gpt-5-nano": REQUESTS}


def scopes(query: JaegerQuery, trace_id: str) -> set[str]:
    """Instrumentation scopes of a trace's spans, from Jaeger's OTLP-JSON answer."""
    with urllib.request.urlopen(f"{query.base_url}/api/v3/traces/{trace_id}", timeout=10) as answer:
        document = json.load(answer)
    return {
        scope_spans["scope"]["name"]
        for resource_spans in document["result"]["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
    }


def final_counts(metrics: OtlpMetricsReceiver, timeout: float = 60) -> dict[str, float]:
    """The evaluator's counters from an export taken after it forwarded every LLM span."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for snapshot in metrics.snapshots():
            if snapshot.get("judgeval.evaluator.spans.exported", 0) >= 2 * REQUESTS:
                return snapshot
        time.sleep(0.2)
    raise TimeoutError(f"no metrics export after forwarding: {metrics.snapshots()[-3:]}")


@pytest.mark.timeout(600)
def test_rule_scores_llm_spans_of_an_unmodified_app_through_the_collector(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> None:
    env = replace(stack_env, llm_env={**stack_env.llm_env, "OTEL_METRIC_EXPORT_INTERVAL": "300"})
    evaluator_endpoint = free_endpoint()
    with (
        OtlpMetricsReceiver() as metrics,
        start_collector(
            otel_binaries.otelcol, env.work_dir / "otelcol", evaluator_endpoint, jaeger.otlp_grpc_endpoint
        ) as collector,
        start_evaluator(env, evaluator_endpoint, collector.grpc_endpoint,
                        "--config", rules_file(env), "--metrics-endpoint", metrics.endpoint),
    ):
        run_app(env, collector.grpc_endpoint)
        traces = all_traces(jaeger.query)
        counts = final_counts(metrics)

    check_traces(traces, lambda evaluator: evaluator.endswith(evaluator_endpoint.rpartition(":")[2]))
    assert scopes(jaeger.query, traces[0][0].trace_id) == {"zero-code-app", OFFICIAL_SCOPE}
    # The evaluator saw exactly the LLM spans, each once; the plain spans never reached it.
    assert counts["judgeval.evaluator.spans.accepted"] == 2 * REQUESTS
    assert counts["judgeval.evaluator.spans.not_selected"] == REQUESTS


@pytest.mark.timeout(600)
def test_the_same_through_the_load_balanced_config_with_two_replicas(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> None:
    rules = rules_file(stack_env)
    with load_balanced_replicas(otel_binaries, jaeger, stack_env, "--config", rules) as replicas:
        run_app(stack_env, replicas.collector_endpoint)
        traces = all_traces(jaeger.query)

    check_traces(traces, lambda evaluator: evaluator.rpartition(":")[2] in replicas.ports())
