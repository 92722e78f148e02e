"""Configuration: precedence flag > env > YAML > default, and one precise message per mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator_service.config import ConfigError, load_config


def write(tmp_path: Path, doc: Any) -> str:
    path = tmp_path / "evaluator.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def test_defaults_without_file_or_env():
    config = load_config(environ={})
    assert config.listen == "127.0.0.1:4320"
    assert config.export_endpoint == "127.0.0.1:4317"
    assert str(config.data_dir) == ".judgeval-data"
    assert config.metrics_endpoint is None
    assert config.scorers == () and config.rules == ()


def test_precedence_flag_over_env_over_yaml(tmp_path):
    path = write(tmp_path, {"listen": "0.0.0.0:1111", "export_endpoint": "yaml:1", "data_dir": "yaml-dir"})
    env = {
        "JUDGEVAL_EVALUATOR_LISTEN": "0.0.0.0:2222",
        "JUDGEVAL_EVALUATOR_CONFIG": path,
        "JUDGEVAL_EVALUATOR_EXPORT_ENDPOINT": "http://env:2",
        "JUDGMENT_API_KEY": "env-key",
    }
    config = load_config(listen="127.0.0.1:3333", environ=env)
    assert config.listen == "127.0.0.1:3333"
    assert config.export_endpoint == "env:2"
    assert str(config.data_dir) == "yaml-dir"
    assert config.api_key == "env-key"


def test_full_yaml_is_parsed(tmp_path):
    doc = {
        "queue": {"max_spans": 10, "max_bytes": 2048},
        "scoring": {"concurrency": 2, "timeout_s": 3, "max_retries": 1},
        "judge": {"model": "m", "base_url": "http://judge/v1", "api_key_env": "JUDGE_KEY"},
        "scorers": [
            {"name": "rel", "type": "answer_relevancy", "rate_limit": 2, "fields": {"input": "q"}},
            {"name": "re", "type": "regex", "options": {"pattern": "x"}},
        ],
        "rules": [{"name": "r", "when": {"service.name": "s"}, "scorer": "rel", "sampling_rate": 0.1}],
        "limits": {"Uploaded Scorer": {"timeout_s": 60, "rate_limit": 1}, "rel": {"max_retries": 0}},
    }
    config = load_config(config_file=write(tmp_path, doc), environ={})
    assert config.queue.max_spans == 10 and config.scoring.concurrency == 2
    rel = config.scorers[0]
    assert (rel.model, rel.base_url, rel.api_key_env, rel.rate_limit) == (
        "m",
        "http://judge/v1",
        "JUDGE_KEY",
        2.0,
    )
    assert rel.fields == {"input": "q"}
    assert config.rules[0].sampling_rate == 0.1
    limits = config.scorer_limits()
    assert (limits["Uploaded Scorer"].timeout_s, limits["Uploaded Scorer"].rate_limit) == (60.0, 1.0)
    assert (limits["rel"].max_retries, limits["rel"].rate_limit) == (0, 2.0)  # merged field by field


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "scorers": [
                    {"name": "a", "type": "pii"},
                    {"name": "b", "type": "pii"},
                    {"name": "c", "type": "faithfulness", "base_url": "http://other/v1"},
                ]
            },
            "scorers[2].model: required for type faithfulness",
        ),
        ({"scorers": [{"name": "a", "type": "llm"}]}, "scorers[0].type: unknown type 'llm'"),
        ({"scorers": [{"type": "pii"}]}, "scorers[0].name: required"),
        (
            {"scorers": [{"name": "a", "type": "regex", "options": {"pattern": "("}}]},
            "scorers[0].options.pattern: invalid regular expression",
        ),
        (
            {"scorers": [{"name": "a", "type": "keyword"}]},
            "scorers[0].options.keywords: required for type keyword",
        ),
        (
            {"scorers": [{"name": "a", "type": "pii"}, {"name": "a", "type": "pii"}]},
            "scorers[1].name: duplicate scorer name 'a'",
        ),
        ({"scorers": [{"name": "a", "type": "pii", "timeout_s": 0}]}, "scorers[0].timeout_s: must be > 0"),
        (
            {"rules": [{"name": "r", "when": {"a": 1}, "scorer": "pii", "sampling_rate": 2}]},
            "rules[0].sampling_rate: must be between 0 and 1",
        ),
        ({"rules": [{"name": "r", "scorer": "pii"}]}, "rules[0].when: required"),
        (
            {"rules": [{"name": "r", "scorer": "pii", "span_kind": "llm"}]},
            "rules[0].span_kind: unknown span kind 'llm' (allowed: internal, server, client, producer, "
            "consumer)",
        ),
        (
            {"rules": [{"name": "r", "scorer": "pii", "instrumentation_scope": "  "}]},
            "rules[0].instrumentation_scope: must be a non-empty",
        ),
        ({"rules": [{"name": "r", "scorer": "pii", "scope": ["a"]}]}, "rules[0].scope: must be a string"),
        (
            {"rules": [{"name": "r", "scorer": "pii", "scope": "opentelemetry.instrumentation.openai"}]},
            "rules[0].scope: must be one of span, trace, session (what the rule scores), got "
            "'opentelemetry.instrumentation.openai'; to match the instrumentation scope name write "
            "instrumentation_scope: opentelemetry.instrumentation.openai",
        ),
        (
            {"rules": [{"name": "r", "when": {"a": 1}, "scorer": "pii", "idle_s": 5}]},
            "rules[0].idle_s: only a scope: trace or scope: session rule takes idle_s",
        ),
        (
            {"rules": [{"name": "r", "when": {"a": 1}, "scorer": "pii", "example": {"context": "*"}}]},
            "rules[0].example.context: '*' (from the span's vocabulary) works only for actual_output, input",
        ),
        (
            {"rules": [{"name": "r", "when": {"a": 1}, "scorer": "pii", "example": {"context": ""}}]},
            "rules[0].example.context: must name a span attribute key",
        ),
        ({"queue": {"max_spans": "many"}}, "queue.max_spans: must be an integer"),
        ({"scoring": {"concurency": 3}}, "scoring.concurency: unknown key"),
        ({"listen": "nowhere"}, "listen: expected HOST:PORT"),
        ({"bogus": 1}, "bogus: unknown key"),
        (
            {"listen": "127.0.0.1:4317"},
            "export_endpoint: 127.0.0.1:4317 is the evaluator's own listen address",
        ),
        ({"limits": {"Uploaded": {"rate_limit": 0}}}, "limits.Uploaded.rate_limit: must be > 0"),
        ({"scoring": {"judge_calls_per_span": 0}}, "scoring.judge_calls_per_span: must be >= 1"),
        ({"scoring": {"judge_calls_per_s": 0}}, "scoring.judge_calls_per_s: must be > 0"),
        (
            {"scoring": {"judge_calls_per_s_per_scorer": -1}},
            "scoring.judge_calls_per_s_per_scorer: must be > 0",
        ),
        (
            {"scorers": [{"name": "a", "type": "regex", "options": {"pattern": "(?<!x)y"}}]},
            "scorers[0].options.pattern: invalid regular expression for RE2",
        ),
        (
            {"scorers": [{"name": "a", "type": "prompt_judge", "model": "m",
                          "options": {"template": "{input.__class__}"}}]},
            "scorers[0].options.template: placeholder '{input.__class__}' is not allowed",
        ),
        (
            {"scorers": [{"name": "a", "type": "json_schema",
                          "options": {"schema": {"type": "string", "pattern": "(?<=x)y"}}}]},
            "scorers[0].options.schema: pattern '(?<=x)y': invalid regular expression for RE2",
        ),
        ({"limits": {"Uploaded": {"retries": 1}}}, "limits.Uploaded.retries: unknown key"),
        ("a: [unclosed", "not valid YAML"),
        ("- just a list", "top level must be a mapping"),
    ],
)
def test_mistakes_name_the_field(tmp_path, doc, message):
    with pytest.raises(ConfigError) as info:
        load_config(config_file=write(tmp_path, doc), environ={})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="No such file"):
        load_config(config_file=str(tmp_path / "absent.yaml"), environ={})


def test_shipped_example_config_is_valid():
    path = Path(__file__).parents[2] / "evaluator_service" / "default_config.yaml"
    config = load_config(config_file=str(path), environ={})
    assert [s.name for s in config.scorers] == [
        "strict_faithfulness", "Politeness", "order_id_present", "no_tool_loops", "tool_errors",
        "agent_budget", "llm_budget", "trajectory_latency", "trajectory_tokens", "agent_quality"]
    assert config.rules[0].when == {"service.name": "support-bot", "gen_ai.operation.name": "chat"}
    assert (config.calibration.window_s, config.calibration.min_labels) == (3600.0, 10)
    assert [(r.dataset, r.outcome) for r in config.datasets.rules] == [
        ("politeness-failures", "failed"), ("politeness-failures", "passed"), ("grouped-failures", "failed")]
    assert (config.shadow.max_queue, config.shadow.retention_s, config.shadow.prune_interval_s) == (
        1000, 7 * 86400.0, 300.0)
    assert config.replay.max_runs == 1000


def test_shadow_section_is_validated_with_the_key_named(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("shadow:\n  concurrency: 0\n")
    with pytest.raises(ConfigError, match=r"shadow.concurrency: must be >= 1, got 0"):
        load_config(config_file=str(path), environ={})
    path.write_text("shadow:\n  retention: forever\n")
    with pytest.raises(ConfigError, match=r"shadow.retention: expected a duration"):
        load_config(config_file=str(path), environ={})
    path.write_text("shadow:\n  sample_rate: 1.5\n")
    with pytest.raises(ConfigError, match=r"shadow.sample_rate: must be at most 1, got 1.5"):
        load_config(config_file=str(path), environ={})
    path.write_text("shadow:\n  queue: 5\n")
    with pytest.raises(ConfigError, match=r"shadow.queue: unknown key"):
        load_config(config_file=str(path), environ={})


def test_replay_section_bounds_the_recorded_runs(tmp_path):
    assert load_config(environ={}).replay.max_runs == 1000
    path = tmp_path / "config.yaml"
    path.write_text("replay:\n  max_runs: 5\n")
    assert load_config(config_file=str(path), environ={}).replay.max_runs == 5
    path.write_text("replay:\n  max_runs: 0\n")
    with pytest.raises(ConfigError, match=r"replay.max_runs: must be >= 1, got 0"):
        load_config(config_file=str(path), environ={})
    path.write_text("replay:\n  keep: 5\n")
    with pytest.raises(ConfigError, match=r"replay.keep: unknown key"):
        load_config(config_file=str(path), environ={})
