"""``alerts:`` validation: every mistake is one ConfigError naming the field as the YAML spells it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator_service.alerts import Condition
from evaluator_service.config import ConfigError, load_config


def load(tmp_path: Path, alerts: Any, environ: dict[str, str] | None = None):
    path = tmp_path / "evaluator.yaml"
    path.write_text(yaml.safe_dump({"alerts": alerts}), encoding="utf-8")
    return load_config(config_file=str(path), environ=environ or {})


def test_full_rule_is_parsed(tmp_path: Path):
    config = load(tmp_path, [{
        "name": "drop", "scorer": "faithfulness", "failure_rate_above": 0.2, "window": "5m", "min_count": 20,
        "where": {"service.name": "support-bot"}, "cooldown": "10m",
        "link_template": "http://jaeger:16686/trace/{trace_id}",
        "notify": {"log": True, "webhook": {"url": "https://hooks.example/x",
                                            "headers": {"Authorization": "Bearer ${env:HOOK}"}}},
    }], {"HOOK": "s3cret"})
    (rule,) = config.alerts
    assert (rule.condition, rule.threshold, rule.window_s, rule.min_count) == (
        Condition.FAILURE_RATE_ABOVE, 0.2, 300.0, 20)
    assert rule.cooldown_s == 600.0 and rule.where == {"service.name": "support-bot"}
    assert rule.webhook is not None and rule.webhook.headers == {"Authorization": "Bearer s3cret"}


def test_defaults(tmp_path: Path):
    (rule,) = load(tmp_path, [{"name": "low", "scorer": "*", "score_below": 0.3}]).alerts
    assert rule.window_s == 0 and rule.cooldown_s == 600.0 and rule.webhook is None and not rule.rate_based


@pytest.mark.parametrize(("alerts", "message"), [
    ({"name": "x"}, "alerts: must be a list"),
    ([{"scorer": "s", "score_below": 1}], "alerts[0].name: required"),
    ([{"name": "a", "score_below": 1}],
     "alerts[0].scorer: required (a scorer name, or '*' for every scorer)"),
    ([{"name": "a", "scorer": "s"}],
     "alerts[0]: exactly one condition is required: score_below, failure_rate_above, errors_above"),
    ([{"name": "a", "scorer": "s", "score_below": 0.5, "errors_above": 2, "window": "1m"}],
     "alerts[0]: exactly one condition is required: score_below, failure_rate_above, errors_above "
     "(found score_below, errors_above)"),
    ([{"name": "a", "scorer": "s", "score_below": 1}, {"name": "b", "scorer": "s", "errors_above": 3}],
     "alerts[1].window: required for errors_above (e.g. 5m)"),
    ([{"name": "a", "scorer": "s", "errors_above": 3, "window": "5 minutes"}],
     "alerts[0].window: expected a duration like 30s, 5m or 1h, got '5 minutes'"),
    ([{"name": "a", "scorer": "s", "errors_above": 3, "window": "0s"}],
     "alerts[0].window: must be longer than 0, got '0s'"),
    ([{"name": "a", "scorer": "s", "score_below": 0.5, "window": "1m"}],
     "alerts[0].window: only used with failure_rate_above or errors_above"),
    ([{"name": "a", "scorer": "s", "failure_rate_above": 1.5, "window": "1m"}],
     "alerts[0].failure_rate_above: must be a share below 1 (0.2 = 20%), got 1.5"),
    ([{"name": "a", "scorer": "s", "errors_above": 2.5, "window": "1m"}],
     "alerts[0].errors_above: must be an integer, got 2.5"),
    ([{"name": "a", "scorer": "s", "errors_above": 1, "window": "1m", "min_count": 5}],
     "alerts[0].min_count: only used with failure_rate_above"),
    ([{"name": "a", "scorer": "s", "failure_rate_above": 0.1, "window": "1m", "min_count": 0}],
     "alerts[0].min_count: must be >= 1, got 0"),
    ([{"name": "a", "scorer": "s", "score_below": 1}, {"name": "a", "scorer": "t", "score_below": 1}],
     "alerts[1].name: duplicate alert name 'a'"),
    ([{"name": "a", "scorer": "s", "score_below": 1, "where": {"tags": [1]}}],
     "alerts[0].where.tags: must be a scalar value"),
    ([{"name": "a", "scorer": "s", "score_below": 1, "link_template": "http://j/{trace}"}],
     "alerts[0].link_template: may use only {trace_id}, {span_id} and {service_name} (KeyError: 'trace')"),
    ([{"name": "a", "scorer": "s", "score_below": 1, "notify": {"email": "x@y"}}],
     "alerts[0].notify.email: unknown key (allowed: log, webhook)"),
    ([{"name": "a", "scorer": "s", "score_below": 1, "notify": {"webhook": {"url": "ftp://x"}}}],
     "alerts[0].notify.webhook.url: must start with http:// or https://, got 'ftp://x'"),
    ([{"name": "a", "scorer": "s", "score_below": 1,
       "notify": {"webhook": {"url": "http://x", "headers": {"X-Token": "${env:NOPE}"}}}}],
     "alerts[0].notify.webhook.headers.X-Token: environment variable NOPE is not set"),
    ([{"name": "a", "scorer": "s", "score_below": 1, "cooldown": -1}],
     "alerts[0].cooldown: expected a duration like 30s, 5m or 1h, got -1"),
    ([{"name": "a", "scorer": "s", "score_below": 1, "treshold": 1}],
     "alerts[0].treshold: unknown key (allowed: cooldown, errors_above, failure_rate_above, link_template, "
     "min_count, name, notify, score_below, scorer, where, window)"),
])
def test_mistakes_name_the_field(tmp_path: Path, alerts: Any, message: str):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, alerts)
    assert str(caught.value) == message


def test_evaluator_process_exits_2_with_one_line(tmp_path: Path):
    path = tmp_path / "evaluator.yaml"
    path.write_text(yaml.safe_dump({"alerts": [{"name": "a", "scorer": "s", "errors_above": 3}]}), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUDGEVAL_EVALUATOR_", "OTEL_"))}
    result = subprocess.run([sys.executable, "-m", "evaluator_service", "--config", str(path)],
                            capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == "config error: alerts[0].window: required for errors_above (e.g. 5m)"
