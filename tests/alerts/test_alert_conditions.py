"""Pins what each condition object decides from window counts, and how it parses (errors name the field)."""

from __future__ import annotations

from typing import Any

import pytest

from evaluator_service.alerts.conditions import (
    CONDITION_KINDS,
    AbsentFor,
    BurnRate,
    ErrorRateAbove,
    ErrorsAbove,
    FailureRateAbove,
    ScoreAbove,
    ScoreBelow,
    Verdict,
    parse_condition,
)
from evaluator_service.alerts.notification import NotificationKind, Severity
from evaluator_service.config_values import ConfigError, Section
from evaluator_service.state.alert_rows import WindowCounts

CRIT, WARN = Severity.CRITICAL, Severity.WARNING


def parsed(**entry: Any) -> Any:
    return parse_condition(Section(entry, "alerts[0]"))


def test_one_class_per_yaml_key() -> None:
    assert set(CONDITION_KINDS) == {"score_below", "score_above", "failure_rate_above", "error_rate_above",
                                    "errors_above", "burn_rate", "absent_for", "corrected_failure_rate_above"}
    assert all(kind.key == key for key, kind in CONDITION_KINDS.items())
    assert parsed(behavior=["created"]) is None


def test_single_score_thresholds_with_two_levels_and_a_quiet_period() -> None:
    below = parsed(score_below={"critical": 0.2, "warning": 0.5}, quiet="10m")
    assert isinstance(below, ScoreBelow) and below.windows == (600.0,)
    assert below.judge([WindowCounts(3, 0, 0, 0.1, 0.9)]).level == CRIT
    assert below.judge([WindowCounts(3, 0, 0, 0.3, 0.9)]).level == WARN
    assert below.judge([WindowCounts(3, 0, 0, 0.5, 0.9)]) == Verdict(None, 0.5, details={"scores": 3})
    assert below.judge([WindowCounts()]) == Verdict(None, None)  # quiet: resolved, not "no data"
    above = parsed(score_above=0.8, severity="warning")
    assert isinstance(above, ScoreAbove) and above.windows == (300.0,)
    assert above.judge([WindowCounts(1, 0, 0, 0.1, 0.9)]).level == WARN


def test_rates_need_min_count_and_report_no_data_for_an_empty_window() -> None:
    failures = parsed(failure_rate_above=0.2, window="5m", min_count=20)
    assert isinstance(failures, FailureRateAbove)
    assert failures.judge([WindowCounts(20, 5, 7)]) == Verdict(CRIT, 0.25, details={
        "total": 20, "bad": 5, "min_count": 20})
    assert failures.judge([WindowCounts(19, 19)]).level is None  # too few scores
    assert failures.judge([WindowCounts(10, 2)]).level is None  # 0.2 is not above 0.2
    assert failures.judge([WindowCounts(0, 0, 5)]).no_data  # errors are not scores
    errors = parsed(error_rate_above=0.1, window="1m")
    assert isinstance(errors, ErrorRateAbove)
    assert errors.judge([WindowCounts(8, 8, 2)]).observed == 0.2  # errors among all results; fails ignored
    count = parsed(errors_above=5, window="30s")
    assert isinstance(count, ErrorsAbove)
    assert count.judge([WindowCounts(0, 0, 6)]).level == CRIT
    assert count.judge([WindowCounts(100, 100, 5)]).level is None


def test_burn_rate_is_the_smaller_of_two_windows() -> None:
    burn = parsed(burn_rate={"objective": 0.99, "long_window": "1h", "short_window": "5m"})
    assert isinstance(burn, BurnRate) and burn.windows == (3600.0, 300.0)
    assert burn.levels.critical == 14.4  # the SRE workbook's page threshold by default
    verdict = burn.judge([WindowCounts(1000, 200), WindowCounts(100, 50)])  # 20x and 50x the budget
    assert (verdict.level, round(verdict.observed or 0, 6)) == (CRIT, 20.0)
    assert burn.judge([WindowCounts(1000, 200), WindowCounts(100, 0)]).level is None  # over already
    assert burn.judge([WindowCounts(0, 0), WindowCounts(0, 0)]).no_data


def test_absence_counts_any_result_and_notifies_as_no_data() -> None:
    absent = parsed(absent_for="10m")
    assert isinstance(absent, AbsentFor) and absent.notification_kind == NotificationKind.NO_DATA
    assert absent.judge([WindowCounts()]).level == CRIT
    assert absent.judge([WindowCounts(0, 0, 1)]).level is None


@pytest.mark.parametrize(("entry", "message"), [
    ({}, r"alerts\[0\]: exactly one condition is required"),
    ({"score_below": 0.5, "failure_rate_above": 0.2}, r"\(found score_below, failure_rate_above\)"),
    ({"failure_rate_above": 0.2}, r"alerts\[0\]\.window: required for failure_rate_above"),
    ({"failure_rate_above": 1.5, "window": "5m"}, r"must be a share in \[0, 1\)"),
    ({"score_below": 0.5, "window": "5m"}, r"alerts\[0\]\.window: not used with score_below \(use quiet:\)"),
    ({"score_below": 0.5, "min_count": 3}, r"min_count: not used with score_below"),
    ({"errors_above": 3, "window": "1m", "min_count": 2}, r"min_count: not used with errors_above"),
    ({"failure_rate_above": 0.2, "window": "5m", "quiet": "1m"}, r"quiet: only used with score_below"),
    ({"score_below": {"critical": 0.2, "bogus": 1}}, r"score_below\.bogus: unknown key"),
    ({"score_below": {}}, r"score_below: give critical, warning or both"),
    ({"score_below": 0.5, "severity": "page"}, r"severity: critical or warning"),
    ({"burn_rate": {"long_window": "1h"}}, r"burn_rate\.objective: required"),
    ({"burn_rate": {"objective": 1.2}}, r"burn_rate\.objective: must be between 0 and 1"),
    ({"burn_rate": {"objective": 0.9, "short_window": "2h"}}, r"short_window: must be shorter"),
    ({"absent_for": "soon"}, r"absent_for: expected a duration"),
    ({"behavior": "created", "window": "5m"}, r"window: not used with behavior"),
])
def test_mistakes_name_the_field(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_condition(Section(entry, "alerts[0]"))
