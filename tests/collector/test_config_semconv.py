"""The routing conditions in the collector YAML quote the semconv constants exactly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from judgeval import semconv

from tools.localstack.procs import COLLECTOR_CONFIG_DIR

COLLECTOR_CONFIGS = sorted(COLLECTOR_CONFIG_DIR.glob("otelcol-*.yaml"))
STATUS_REFERENCE = f'attributes["{semconv.JUDGEVAL_EVAL_STATUS}"]'
PENDING_LITERAL = f'"{semconv.EvalStatus.PENDING.value}"'


def span_conditions(config: dict[str, Any], processor: str) -> list[str]:
    """The OTTL span conditions of one filter processor."""
    return list(config["processors"][processor]["traces"]["span"])


def test_there_are_collector_configs_to_check() -> None:
    assert {p.name for p in COLLECTOR_CONFIGS} >= {
        "otelcol-jaeger.yaml",
        "otelcol-tempo.yaml",
        "otelcol-loadbalanced.yaml",
    }


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_filters_route_on_the_semconv_status_key_and_pending_value(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    keep = span_conditions(config, "filter/keep_pending")
    drop = span_conditions(config, "filter/drop_pending")
    # filter drops what matches: the evaluation pipeline drops "not pending", the backend drops "pending".
    assert keep == [f"{STATUS_REFERENCE} != {PENDING_LITERAL}"]
    assert drop == [f"{STATUS_REFERENCE} == {PENDING_LITERAL}"]


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_each_filter_sits_in_its_own_pipeline_behind_the_shared_receiver(path: Path) -> None:
    pipelines = yaml.safe_load(path.read_text())["service"]["pipelines"]
    evaluation, backend = pipelines["traces/evaluation"], pipelines["traces/backend"]
    assert evaluation["receivers"] == backend["receivers"] == ["otlp"]
    assert "filter/keep_pending" in evaluation["processors"]
    assert "filter/drop_pending" in backend["processors"]
    assert evaluation["processors"][0] == backend["processors"][0] == "memory_limiter"
    assert set(evaluation["exporters"]).isdisjoint(backend["exporters"])


def documented_query_keys() -> set[str]:
    """Attribute keys quoted in the TraceQL examples of collector-config/README.md."""
    readme = (COLLECTOR_CONFIG_DIR / "README.md").read_text()
    return set(re.findall(r'span\."([^"]+)"', readme))


def test_readme_queries_use_real_semconv_keys() -> None:
    constants = {v for k, v in vars(semconv).items() if k.isupper() and isinstance(v, str)}
    keys = documented_query_keys()
    assert keys, "README.md has no TraceQL examples"
    for key in keys:
        if key.startswith(semconv.JUDGEVAL_SCORE_PREFIX):
            scorer, _, field = key.removeprefix(semconv.JUDGEVAL_SCORE_PREFIX).rpartition(".")
            assert key == semconv.score_attribute(scorer, semconv.ScoreField(field))
        else:
            assert key in constants, key
