"""The routing conditions in the collector YAML quote the semconv constants exactly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from judgeval import semconv

from evaluator_service.localstack.procs import COLLECTOR_CONFIG_DIR

COLLECTOR_CONFIGS = sorted(COLLECTOR_CONFIG_DIR.glob("otelcol-*.yaml"))
STATUS = f'attributes["{semconv.JUDGEVAL_EVAL_STATUS}"]'
PENDING = f'"{semconv.EvalStatus.PENDING.value}"'
CANDIDATE_ENV = "JUDGEVAL_CANDIDATE_CONDITION"
CANDIDATE = " or ".join(
    [f'attributes["{key}"] != nil' for key in semconv.RULE_CANDIDATE_KEYS]
    + [f"(${{env:{CANDIDATE_ENV}:-false}})"]
)


def span_conditions(config: dict[str, Any], processor: str) -> list[str]:
    """The OTTL span conditions of one filter processor, whitespace normalized (YAML folds long ones)."""
    conditions = config["processors"][processor]["traces"]["span"]
    return [re.sub(r"\s+", " ", c).replace("( ", "(").strip() for c in conditions]


def test_there_are_collector_configs_to_check() -> None:
    assert {p.name for p in COLLECTOR_CONFIGS} >= {
        "otelcol-jaeger.yaml",
        "otelcol-tempo.yaml",
        "otelcol-loadbalanced.yaml",
    }


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_filters_route_on_the_semconv_status_key_pending_value_and_candidate_keys(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    # filter drops what matches. The evaluation pipeline drops spans with a final status and untagged
    # non-candidates; the backend pipeline drops exactly the complement: pending and untagged candidates.
    assert span_conditions(config, "filter/to_evaluator") == [
        f"{STATUS} != nil and {STATUS} != {PENDING}",
        f"{STATUS} == nil and not ({CANDIDATE})",
    ]
    assert span_conditions(config, "filter/to_backend") == [
        f"{STATUS} == {PENDING}",
        f"{STATUS} == nil and ({CANDIDATE})",
    ]


def test_every_final_status_differs_from_pending() -> None:
    # The evaluator writes one of these on every span it re-exports; none may match the evaluation route.
    final = set(semconv.EvalStatus) - {semconv.EvalStatus.PENDING}
    assert {s.value for s in final} == {"scored", "partial", "failed", "not_selected"}


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_each_filter_sits_in_its_own_pipeline_behind_the_shared_receiver(path: Path) -> None:
    pipelines = yaml.safe_load(path.read_text())["service"]["pipelines"]
    evaluation, backend = pipelines["traces/evaluation"], pipelines["traces/backend"]
    assert evaluation["receivers"] == backend["receivers"] == ["otlp"]
    assert "filter/to_evaluator" in evaluation["processors"]
    assert "filter/to_backend" in backend["processors"]
    assert evaluation["processors"][0] == backend["processors"][0] == "memory_limiter"
    assert set(evaluation["exporters"]).isdisjoint(backend["exporters"])


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_metrics_and_logs_are_accepted(path: Path) -> None:
    # opentelemetry-distro defaults agents to OTLP metrics and logs: the collector must not answer
    # UNIMPLEMENTED to them.
    pipelines = yaml.safe_load(path.read_text())["service"]["pipelines"]
    assert pipelines["metrics"]["receivers"] == pipelines["logs"]["receivers"] == ["otlp"]


def test_readme_documents_the_candidate_condition() -> None:
    readme = (COLLECTOR_CONFIG_DIR / "README.md").read_text()
    assert CANDIDATE_ENV in readme
    for key in semconv.RULE_CANDIDATE_KEYS:
        assert f"`{key}`" in readme, key


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
