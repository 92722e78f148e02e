"""Pins what each alert condition object decides: which events count, breach, window verdict, resolution."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from evaluator_service.alerts.conditions import (
    CONDITIONS,
    Condition,
    ConditionSettings,
    WindowVerdict,
    parse_condition,
)
from evaluator_service.config_values import ConfigError, Section


@dataclass(frozen=True)
class Event:
    value: float | None
    succeeded: bool = True


SCORE_LOW, SCORE_OK = Event(0.2, False), Event(0.9, True)
FAILED, ERROR = Event(0.9, False), Event(None, False)


def test_one_object_per_condition_kind() -> None:
    assert set(CONDITIONS) == set(Condition)
    assert all(kind.key is key for key, kind in CONDITIONS.items())
    assert [k for k, c in CONDITIONS.items() if c.windowed] == [Condition.FAILURE_RATE_ABOVE,
                                                                   Condition.ERRORS_ABOVE]


def test_score_below_judges_each_score_and_resolves_after_a_quiet_cooldown() -> None:
    kind = CONDITIONS[Condition.SCORE_BELOW]
    assert [kind.applies_to(e) for e in (SCORE_LOW, SCORE_OK, ERROR)] == [True, True, False]
    assert (kind.is_bad(0.5, SCORE_LOW), kind.is_bad(0.5, SCORE_OK)) == (True, False)
    assert kind.quiet_resolution_due(last_breach=100.0, now=700.0, cooldown_s=600.0)
    assert not kind.quiet_resolution_due(last_breach=100.0, now=699.0, cooldown_s=600.0)
    assert not kind.quiet_resolution_due(last_breach=None, now=1e9, cooldown_s=600.0)
    with pytest.raises(NotImplementedError):
        kind.judge_window(0.5, 1, 10, 5)


def test_failure_rate_counts_scores_and_needs_min_count() -> None:
    kind = CONDITIONS[Condition.FAILURE_RATE_ABOVE]
    assert [kind.applies_to(e) for e in (FAILED, SCORE_OK, ERROR)] == [True, True, False]
    assert (kind.is_bad(0.2, FAILED), kind.is_bad(0.2, SCORE_OK)) == (True, False)
    assert kind.judge_window(0.2, 20, total=20, bad=5) == WindowVerdict(0.25, True)
    assert kind.judge_window(0.2, 20, total=19, bad=19) == WindowVerdict(1.0, False)  # too few scores
    assert kind.judge_window(0.2, 1, total=10, bad=2) == WindowVerdict(0.2, False)  # not above
    assert kind.judge_window(0.2, 1, total=0, bad=0) == WindowVerdict(0.0, False)
    assert not kind.quiet_resolution_due(last_breach=0.0, now=1e9, cooldown_s=1.0)


def test_errors_above_counts_only_errors() -> None:
    kind = CONDITIONS[Condition.ERRORS_ABOVE]
    assert [kind.applies_to(e) for e in (ERROR, SCORE_LOW)] == [True, False]
    assert kind.is_bad(10, ERROR)
    assert kind.judge_window(10, 1, total=11, bad=11) == WindowVerdict(11.0, True)
    assert kind.judge_window(10, 1, total=10, bad=10) == WindowVerdict(10.0, False)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"score_below": 0.3}, (Condition.SCORE_BELOW, ConditionSettings(0.3))),
        ({"failure_rate_above": 0.2, "window": "5m", "min_count": 20},
         (Condition.FAILURE_RATE_ABOVE, ConditionSettings(0.2, 300.0, 20))),
        ({"errors_above": 5, "window": "30s"}, (Condition.ERRORS_ABOVE, ConditionSettings(5.0, 30.0, 1))),
    ],
)
def test_each_kind_parses_its_settings(entry: dict, expected: tuple) -> None:
    kind, settings = parse_condition(Section(entry, "alerts[0]"))
    assert (kind.key, settings) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"score_below": 0.3, "window": "5m"}, "alerts[0].window: only used with failure_rate"),
        ({"failure_rate_above": 0.2}, "alerts[0].window: required for failure_rate_above (e.g. 5m)"),
        ({"failure_rate_above": 1, "window": "5m"}, "alerts[0].failure_rate_above: must be a share below 1"),
        ({"errors_above": 3, "window": "5m", "min_count": 2}, "alerts[0].min_count: only used with failure"),
        ({"errors_above": 1.5, "window": "5m"}, "alerts[0].errors_above: must be an integer"),
        ({"score_below": 0.3, "errors_above": 3}, "alerts[0]: exactly one condition is required"),
    ],
)
def test_each_kind_refuses_what_it_does_not_use(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_condition(Section(entry, "alerts[0]"))
    assert message in str(info.value)
