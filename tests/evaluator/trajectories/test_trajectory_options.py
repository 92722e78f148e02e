"""Options of the trajectory scorers in the evaluator YAML: each mistake gets one precise message, and a
trajectory type is a valid ``scorers:`` entry (with the judge defaults for the agent judge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator_service.config import ConfigError, load_config


def load(tmp_path: Path, scorers: list[dict[str, Any]], **doc: Any) -> Any:
    path = tmp_path / "evaluator.yaml"
    path.write_text(yaml.safe_dump({"scorers": scorers, **doc}), encoding="utf-8")
    return load_config(config_file=str(path), environ={})


@pytest.mark.parametrize(("entry", "message"), [
    ({"type": "step_budget"}, "scorers[0].options.max_steps: required for type step_budget"),
    ({"type": "llm_call_budget", "options": {"max_llm_calls": 0}},
     "scorers[0].options.max_llm_calls: must be a positive integer, got 0"),
    ({"type": "latency_budget", "options": {"max_seconds": "2s"}},
     "scorers[0].options.max_seconds: must be a positive number, got '2s'"),
    ({"type": "token_budget", "options": {"max_tokens": 100, "max_input_tokens": True}},
     "scorers[0].options.max_input_tokens: must be a positive integer, got True"),
    ({"type": "tool_loop", "options": {"mode": "loop"}},
     "scorers[0].options.mode: must be 'consecutive' or 'total', got 'loop'"),
    ({"type": "tool_loop", "options": {"max_repeats": 2.5}},
     "scorers[0].options.max_repeats: must be a positive integer, got 2.5"),
    ({"type": "step_budget", "options": {"max_step": 10, "max_steps": 10}},
     "scorers[0].options.max_step: unknown option (known: max_steps)"),
    ({"type": "tool_error_rate", "options": {"max_error_rate": 2}},
     "scorers[0].options.max_error_rate: must be a number from 0 to 1, got 2"),
    ({"type": "agent_judge", "options": {"rubric": ""}},
     "scorers[0].options.rubric: must be a non-empty string (what the judge checks)"),
    ({"type": "agent_judge", "options": {"max_chars": 500_000}},
     "scorers[0].options.max_chars: must be at most 90000, got 500000"),
    ({"type": "agent_judge", "options": {"max_chars": 10}},
     "scorers[0].options.max_chars: must be at least 1000, got 10"),
    ({"type": "agent_judge", "options": {"rubric": "x" * 9000}},
     "scorers[0].options.rubric: is 9000 characters, over the limit of 8000"),
])
def test_each_option_mistake_names_the_option(tmp_path, entry, message):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, [{"name": "t", **entry}])
    assert str(caught.value) == message


def test_unknown_types_list_the_trajectory_types_too(tmp_path):
    listed = r"unknown type 'loop_detector'.*step_budget.*token_budget.*tool_loop"
    with pytest.raises(ConfigError, match=listed):
        load(tmp_path, [{"name": "t", "type": "loop_detector"}])


def test_trajectory_scorers_load_with_the_judge_defaults(tmp_path):
    config = load(tmp_path, [
        {"name": "no_loops", "type": "tool_loop", "options": {"max_repeats": 2, "mode": "total"}},
        {"name": "agent_quality", "type": "agent_judge", "timeout_s": 60,
         "options": {"rubric": "Did it book the right flight?"}},
    ], judge={"model": "judge-model", "base_url": "http://judge.local/v1"})
    loops, judge = config.scorers
    assert loops.type == "tool_loop" and loops.options == {"max_repeats": 2, "mode": "total"}
    assert (judge.model, judge.base_url) == ("judge-model", "http://judge.local/v1")
    assert config.scorer_limits()["agent_quality"].timeout_s == 60


def test_a_trajectory_scorer_name_may_not_repeat_a_span_scorer_name(tmp_path):
    with pytest.raises(ConfigError, match="duplicate scorer name 'quality'"):
        load(tmp_path, [{"name": "quality", "type": "regex", "options": {"pattern": "x"}},
                        {"name": "quality", "type": "tool_loop"}])
