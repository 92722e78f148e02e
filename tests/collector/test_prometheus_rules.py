"""The shipped Prometheus rules (collector-config/prometheus/) pass ``promtool check rules`` and their own
``promtool test rules`` unit tests, and those tests notice a rule that counts scoring errors as failures or
reads the wrong score bucket; every condition kind of the evaluator's own engine has a shipped rule."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from judgeval import semconv

from tests.support.otel_binaries import ALLOW_SKIP_ENV
from tools.localstack.procs import COLLECTOR_CONFIG_DIR

RULES_DIR = COLLECTOR_CONFIG_DIR / "prometheus"
RULES = RULES_DIR / "judgeval-rules.yaml"
RULE_TESTS = RULES_DIR / "judgeval-rules.test.yaml"


@pytest.fixture(scope="module")
def promtool() -> str:
    """Debian's promtool (``scripts/ensure-promtool`` installs it; CI runs that first)."""
    found = shutil.which("promtool")
    if found is None:
        message = "promtool not found; run scripts/ensure-promtool"
        if os.environ.get(ALLOW_SKIP_ENV) == "1":
            pytest.skip(f"{message} ({ALLOW_SKIP_ENV}=1)")
        pytest.fail(f"{message}, or set {ALLOW_SKIP_ENV}=1 to skip these tests", pytrace=False)
    return found


def run(promtool: str, *args: str, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_accepts_the_rules(promtool: str) -> None:
    checked = run(promtool, "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 23 rules found" in checked.stdout


def test_the_rules_pass_their_unit_tests(promtool: str) -> None:
    tested = run(promtool, "test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_the_unit_tests_catch_errors_counted_as_failures(promtool: str, tmp_path: Path) -> None:
    broken = RULES.read_text().replace('{outcome="failed"}', '{outcome=~"failed|error"}')
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    tested = run(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0
    report = tested.stdout + tested.stderr
    assert "alertname: JudgevalPassRateSlowBurn" in report  # judge's errors would alert as failures
    assert 'scorer="judge"' in report


def test_the_unit_tests_catch_a_score_rule_on_the_wrong_bucket(promtool: str, tmp_path: Path) -> None:
    broken = RULES.read_text().replace('le="0.8", scorer=~', 'le="1", scorer=~')
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    tested = run(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0
    assert "alertname: JudgevalScoreAbove" in tested.stdout + tested.stderr


def _rules() -> list[dict[str, str]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_the_rules_query_the_metric_and_labels_the_evaluator_records() -> None:
    # the Prometheus exporter's names: a counter gains _total, a histogram's buckets _bucket
    outcomes = semconv.METRIC_SCORE_OUTCOMES.replace(".", "_") + "_total"
    buckets = semconv.METRIC_SCORE_VALUE.replace(".", "_") + "_bucket"
    expressions = [rule["expr"] for rule in _rules() if "record" in rule]
    assert all(outcomes in expr or buckets in expr for expr in expressions)
    assert any(buckets in expr for expr in expressions)
    by = f"sum by ({semconv.SCORE_METRIC_LABEL_SCORER}, {semconv.SCORE_METRIC_LABEL_SERVICE}"
    assert all(by in expr for expr in expressions)
    outcomes = {f'outcome="{o}"' for o in (semconv.ScoreOutcomeLabel.FAILED, semconv.ScoreOutcomeLabel.ERROR)}
    assert all(any(o in expr for expr in expressions) for o in outcomes)


def test_score_thresholds_are_bucket_boundaries_the_evaluator_records() -> None:
    """A ``le`` the histogram does not have would match no series: the rule would never fire."""
    recorded = {f"{bound:g}" for bound in semconv.SCORE_VALUE_BUCKET_BOUNDARIES} | {"+Inf"}
    used = set(re.findall(r'le="([^"]*)"', RULES.read_text()))
    assert used and used <= recorded, used - recorded


def test_every_condition_of_the_evaluator_engine_has_a_shipped_rule() -> None:
    """The table in collector-config/README.md ("Which engine does what"): one rule per windowed kind."""
    from evaluator_service.alerts.conditions import CONDITION_KINDS

    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    shipped = {"score_below": "JudgevalScoreBelow", "score_above": "JudgevalScoreAbove",
               "failure_rate_above": "JudgevalFailureRateHigh",
               "error_rate_above": "JudgevalScoringErrorRateHigh",
               "errors_above": "JudgevalScoringErrorsAbove",
               "burn_rate": "JudgevalPassRateFastBurn", "absent_for": "JudgevalScoresAbsent"}
    engine_only = {"corrected_failure_rate_above"}  # needs people's labels, which only the evaluator has
    assert set(CONDITION_KINDS) == set(shipped) | engine_only
    assert set(shipped.values()) <= alerts
