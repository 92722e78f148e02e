"""The trajectory feed in every shipped collector config, pinned to the semconv names it quotes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from judgeval import semconv

from evaluator_service import environment_variables
from tools.localstack.procs import COLLECTOR_CONFIG_DIR

COLLECTOR_CONFIGS = sorted(COLLECTOR_CONFIG_DIR.glob("otelcol-*.yaml"))
STATUS = f'attributes["{semconv.JUDGEVAL_EVAL_STATUS}"]'
TRACESTATE = f'trace_state["{semconv.TRACESTATE_KEY}"] == "{semconv.TRACESTATE_TRAJECTORY}"'
REQUESTS = f'attributes["{semconv.JUDGEVAL_TRAJECTORY_REQUESTS}"] != nil'
CONDITION = f"(${{env:{environment_variables.JUDGEVAL_TRAJECTORY_CONDITION}:-false}})"


def _conditions(config: dict[str, Any]) -> list[str]:
    conditions = config["processors"]["filter/to_trajectory_feed"]["traces"]["span"]
    return [re.sub(r"\s+", " ", c).replace("( ", "(").strip() for c in conditions]


def _headers(exporter: dict[str, Any]) -> dict[str, str]:
    return dict(exporter.get("headers") or exporter["protocol"]["otlp"]["headers"])


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_the_feed_copies_marked_spans_once_with_the_feed_header(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    # filter drops what matches: anything not of a marked trajectory, and what already has a final status
    assert _conditions(config) == [
        f"not ({TRACESTATE} or {REQUESTS} or {CONDITION})",
        f'{STATUS} != nil and {STATUS} != "{semconv.EvalStatus.PENDING.value}"',
    ]
    pipelines = config["service"]["pipelines"]
    feed = pipelines["traces/trajectory_feed"]
    assert feed["receivers"] == ["otlp"] and feed["processors"][0] == "memory_limiter"
    assert "filter/to_trajectory_feed" in feed["processors"]
    [exporter_name] = feed["exporters"]
    assert exporter_name not in pipelines["traces/backend"]["exporters"]
    exporter = config["exporters"][exporter_name]
    assert _headers(exporter) == {semconv.TRAJECTORY_FEED_HEADER: semconv.TRAJECTORY_FEED_VALUE}
    evaluation = config["exporters"][pipelines["traces/evaluation"]["exporters"][0]]
    # the same evaluator listener, balanced the same way where there are replicas
    assert exporter.get("endpoint") == evaluation.get("endpoint")
    assert exporter.get("routing_key") == evaluation.get("routing_key")
    assert exporter["retry_on_failure"]["max_elapsed_time"] == 0


def test_the_secure_overlay_gives_the_feed_the_evaluators_credentials() -> None:
    overlay = yaml.safe_load((COLLECTOR_CONFIG_DIR / "secure-evaluator.yaml").read_text())["exporters"]
    assert overlay["otlp_grpc/trajectory_feed"] == overlay["otlp_grpc/evaluator"]


def test_readme_documents_the_feed() -> None:
    readme = (COLLECTOR_CONFIG_DIR / "README.md").read_text()
    for text in (
        semconv.TRAJECTORY_FEED_HEADER,
        environment_variables.JUDGEVAL_TRAJECTORY_CONDITION,
        "traces/trajectory_feed",
        'trace_state["judgeval"] == "t"',
    ):
        assert text in readme
