"""Remote-write into a real Prometheus with the shipped rules loaded: the collector's optional
``prometheus_remote_write`` exporter (switched on by ``JUDGEVAL_METRICS_EXPORTERS``) pushes the evaluator's
score metrics and their exemplars (the score histogram with its explicit buckets), and the shipped recording
rules compute the failure ratio from them.

traffic ──▶ collector ──▶ evaluator ──OTLP metrics──▶ collector ──remote write──▶ Prometheus (+ our rules)
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from judgeval import semconv

from evaluator_service import environment_variables
from tests.support.otel_binaries import ALLOW_SKIP_ENV
from tests.support.polling import eventually
from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import COLLECTOR_CONFIG_DIR, free_endpoint, run_binary
from tools.localstack.runner import StackEnv, start_evaluator
from tools.localstack.stack import JaegerInstance, start_collector

from .traffic import Traffic, fetch_all

RULES = COLLECTOR_CONFIG_DIR / "prometheus" / "judgeval-rules.yaml"


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[str]:
    """Debian's Prometheus server (the package ``scripts/ensure-promtool`` installs), receiving remote
    writes, storing exemplars, evaluating the shipped rules every second; yields its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        message = "prometheus not found; run scripts/ensure-promtool"
        if os.environ.get(ALLOW_SKIP_ENV) == "1":
            pytest.skip(f"{message} ({ALLOW_SKIP_ENV}=1)")
        pytest.fail(f"{message}, or set {ALLOW_SKIP_ENV}=1 to skip these tests", pytrace=False)
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({"global": {"evaluation_interval": "1s"}, "rule_files": [str(RULES)]}))
    endpoint = free_endpoint()
    argv = [
        binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address={endpoint}", "--web.enable-remote-write-receiver",
        "--enable-feature=exemplar-storage",
    ]
    with run_binary("prometheus", argv, {}, tmp_path / "prometheus.log", f"http://{endpoint}/-/ready"):
        yield f"http://{endpoint}"


def api(base_url: str, path: str, **params: str) -> Any:
    with urllib.request.urlopen(f"{base_url}{path}?{urllib.parse.urlencode(params)}", timeout=10) as answer:
        document = json.load(answer)
    assert document["status"] == "success", document
    return document["data"]


def instant(base_url: str, query: str) -> dict[str, float]:
    """An instant query's answer as {value of the ``outcome`` or ``scorer`` label: value}."""
    result = api(base_url, "/api/v1/query", query=query)["result"]
    return {r["metric"].get("outcome", r["metric"].get("scorer", "")): float(r["value"][1]) for r in result}


@pytest.mark.timeout(300)
def test_remote_write_delivers_scores_exemplars_and_feeds_the_shipped_rules(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv, prometheus: str
) -> None:
    env = replace(stack_env, llm_env={**stack_env.llm_env, "OTEL_METRIC_EXPORT_INTERVAL": "1000"})
    evaluator_endpoint = free_endpoint()
    remote_write = {
        environment_variables.JUDGEVAL_METRICS_EXPORTERS: "[prometheus, prometheus_remote_write]",
        environment_variables.JUDGEVAL_PROMETHEUS_REMOTE_WRITE_URL: f"{prometheus}/api/v1/write",
    }
    started = time.time()
    with start_collector(
        otel_binaries.otelcol, env.work_dir / "otelcol", evaluator_endpoint, jaeger.otlp_grpc_endpoint,
        **remote_write,
    ) as collector, start_evaluator(
        env, evaluator_endpoint, collector.grpc_endpoint, "--metrics-endpoint", collector.grpc_endpoint
    ):
        traffic = Traffic(collector.grpc_endpoint)
        outcomes = 'sum by (outcome) (judgeval_evaluator_score_outcomes_total{scorer="pii"})'
        for total in (1, 2):
            traffic.send(2)  # the first answer is clean (pii passes), the second leaks an address (fails)
            expected = {"passed": total, "failed": total}
            eventually(lambda expected=expected: instant(prometheus, outcomes) == expected,
                       lambda: f"{outcomes} = {instant(prometheus, outcomes)}", timeout=60)
        traffic.close()
        fetch_all(jaeger.query, traffic)
        # The shipped recording rule, evaluated by Prometheus on the pushed series: half of pii's scores fail
        # (rate() sees the second round; a series' first sample is its start, as with any new counter).
        ratio = "judgeval:score_failure_ratio:rate5m"
        # rate() extrapolates each series to its window's edges: equal rates give 0.5 within a hair.
        eventually(lambda: abs(instant(prometheus, ratio).get("pii", 0) - 0.5) < 0.01,
                   lambda: f"{ratio} = {instant(prometheus, ratio)}", timeout=60)
        # The score histogram arrives with the explicit buckets the single-score rules are written on.
        buckets = api(prometheus, "/api/v1/query",
                      query='count by (le) (judgeval_evaluator_score_value_bucket{scorer="pii"})')["result"]
        exemplars = api(prometheus, "/api/v1/query_exemplars",
                        query='judgeval_evaluator_score_outcomes_total{scorer="pii"}',
                        start=str(started - 60), end=str(time.time() + 60))
    recorded = {f"{bound:g}" for bound in semconv.SCORE_VALUE_BUCKET_BOUNDARIES} | {"+Inf"}
    assert {series["metric"]["le"] for series in buckets} == recorded
    seen: dict[str, set[str]] = {}
    for series in exemplars:
        outcome = series["seriesLabels"][semconv.SCORE_METRIC_LABEL_OUTCOME]
        seen.setdefault(outcome, set()).update(e["labels"]["trace_id"] for e in series["exemplars"])
    ids = traffic.trace_ids  # clean, leaky, clean, leaky
    assert seen == {semconv.ScoreOutcomeLabel.PASSED: {ids[0], ids[2]},
                    semconv.ScoreOutcomeLabel.FAILED: {ids[1], ids[3]}}
