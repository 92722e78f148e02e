"""``corrected_failure_rate_above`` through the real alert engine (SQLite state, injected clock, a real
HTTP receiver): it fires on the failure rate corrected for the judge's measured error, not on the raw one,
and says why it cannot judge while labels are too few."""

from __future__ import annotations

import pytest

from evaluator_service.alerts.conditions import CorrectedFailureRateAbove
from evaluator_service.calibration.config import CalibrationConfig
from evaluator_service.config_values import ConfigError
from evaluator_service.state import SharedState
from tests.calibration.labeled_sets import judged_labels

from .conftest import EngineFactory
from .engine_harness import Clock, alerts, score
from .test_alert_state_machine import delivered, states
from .webhook_receiver import WebhookReceiver

CORRECTED = {"name": "true-drop", "corrected_failure_rate_above": 0.3, "window": "1m", "min_count": 20,
             "notify": ["hook"]}
RAW = {"name": "raw-drop", "failure_rate_above": 0.3, "window": "1m", "min_count": 20, "notify": ["hook"]}


def record(manager, failed: int, passed: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(failed):
        manager.record(score(0.0))
    for _ in range(passed):
        manager.record(score(1.0))


async def test_fires_on_the_corrected_rate_where_the_raw_rate_misleads(
    engine: EngineFactory, sqlite_state: SharedState, clock: Clock, webhook: WebhookReceiver
) -> None:
    # A judge that false-alarms on 30% of passes and misses none: Se 1.0, Sp 0.7.
    await sqlite_state.put_labels(judged_labels(failures=40, passes=60, miss_rate=0.0, false_alarm_rate=0.3))
    manager = await engine(CORRECTED, RAW)
    # 40% observed failures; corrected: (0.4 + 0.7 - 1) / (1.0 + 0.7 - 1) = 0.1 / 0.7 = 0.143 < 0.3
    record(manager, failed=40, passed=60)
    await manager.tick()
    assert await states(manager, "raw-drop") == ["ok>firing"]
    assert await states(manager, "true-drop") == []
    clock.advance(61)  # the window empties
    # 65% observed; corrected (0.65 - 0.3) / 0.7 = 0.5 > 0.3: the true failure rate rose
    record(manager, failed=65, passed=35)
    await manager.tick()
    assert await states(manager, "true-drop") == ["ok>firing"]
    firing = [b for b in (webhook.accepted() if await delivered(manager, webhook) else [])
              if b["alert"] == "true-drop"]
    assert len(firing) == 1 and firing[0]["observed"] == pytest.approx(0.35 / 0.7)
    details = firing[0]["details"]
    assert details["observed_failure_rate"] == 0.65 and details["sensitivity"] == 1.0
    assert details["specificity"] == 0.7 and details["labels"] == 100
    assert details["corrected_low"] <= 0.5 <= details["corrected_high"]


async def test_too_few_labels_is_no_data_with_the_reason(
    engine: EngineFactory, sqlite_state: SharedState, clock: Clock
) -> None:
    await sqlite_state.put_labels(judged_labels(failures=3, passes=60, miss_rate=0.0, false_alarm_rate=0.1))
    manager = await engine(CORRECTED)
    record(manager, failed=90, passed=10)
    await manager.tick()
    history = await manager.history("true-drop")
    assert [(h.from_state, h.to_state) for h in history] == [("ok", "no_data")]
    assert "too few labels: 3 failure(s)" in history[0].detail["refused"]
    # enough labels arrive: the next refresh of the judge's agreement lets the alert judge again
    await sqlite_state.put_labels(judged_labels(failures=20, passes=60, miss_rate=0.0, false_alarm_rate=0.1,
                                                seed=2, dataset="more"))
    clock.advance(61)
    record(manager, failed=90, passed=10)
    await manager.tick()
    assert [h.to_state for h in reversed(await manager.history("true-drop"))] == ["no_data", "firing"]


def test_needs_one_named_scorer_and_a_window() -> None:
    with pytest.raises(ConfigError, match="needs one scorer's name"):
        alerts({**CORRECTED, "scorer": "*"})
    with pytest.raises(ConfigError, match="window: required"):
        alerts({"name": "x", "corrected_failure_rate_above": 0.2})
    parsed = alerts(CORRECTED)[0].condition
    assert isinstance(parsed, CorrectedFailureRateAbove)
    assert parsed.describe() == "corrected failure rate above 30% over 1m (at least 20 results)"


async def test_the_label_minimum_comes_from_the_calibration_section(
    engine: EngineFactory, sqlite_state: SharedState
) -> None:
    await sqlite_state.put_labels(judged_labels(failures=3, passes=60, miss_rate=0.0, false_alarm_rate=0.1))
    manager = await engine(CORRECTED, calibration=CalibrationConfig(min_labels=3))
    record(manager, failed=90, passed=10)  # corrected (0.9 - 0.1) / 0.9 = 0.89
    await manager.tick()
    [entry] = await manager.history("true-drop")
    assert (entry.to_state, entry.observed) == ("firing", pytest.approx(0.8 / 0.9))
    assert entry.detail["labels"] == 63
