"""The issue lifecycle: the rules on their own (pure, injected times), then the grouper's lifecycle pass over
a real SQLite state with an injected clock, the events it logs, and the metric counting them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.behaviors.event_log import StateBehaviorEventLog
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.behaviors.lifecycle import is_increasing, lifecycle_decider, resolve_after
from evaluator_service.behaviors.settings import BehaviorsConfig, parse_behaviors
from evaluator_service.config_values import ConfigError, Section
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.state import SqliteSharedState
from evaluator_service.state import behavior_records as records
from evaluator_service.state.behavior_records import StoredBehavior
from evaluator_service.state.behavior_rows import bucket_of
from tests.support.evaluator import metric_points

from .lifecycle_support import FAST, LATE, LEAK, T0, Clock, failure, near


def behavior(first: float, last: float, members: int, state: str = records.STATE_ONGOING,
             severity: str = "low") -> StoredBehavior:
    return StoredBehavior("bhv_1", "s", "space", "late", records.NAME_PROVISIONAL, [1.0], members, first,
                          last,
                          state=state, state_since=T0, severity=severity)


def steady(first: float, last: float, every_s: float) -> dict[int, int]:
    """Member counts of one member every ``every_s`` seconds."""
    counts: dict[int, int] = {}
    t = first
    while t <= last:
        counts[bucket_of(t)] = counts.get(bucket_of(t), 0) + 1
        t += every_s
    return counts


def test_event_kinds_stored_by_the_state_are_the_contracts() -> None:
    stored = [records.EVENT_CREATED, records.EVENT_INCREASING, records.EVENT_RESOLVED,
              records.EVENT_REGRESSED]
    assert stored == [k.value for k in BehaviorEventKind]


def test_new_becomes_ongoing_after_new_for_s() -> None:
    decide = lifecycle_decider(FAST)
    young = behavior(T0, T0 + 60, 2, state=records.STATE_NEW)
    assert decide(young, {bucket_of(T0): 2}, T0 + 300) is None
    change = decide(young, {bucket_of(T0): 2}, T0 + 600)
    assert change is not None and (change.state, change.event) == (records.STATE_ONGOING, None)


def test_resolution_waits_a_multiple_of_the_usual_interval_within_bounds() -> None:
    every_5_min = behavior(T0, T0 + 12 * 3600, 145, severity="medium")  # one per 300 s: 10 intervals = 3000 s
    assert resolve_after(every_5_min, FAST) == pytest.approx(3000)
    rare = behavior(T0, T0 + 10 * 86400, 3)  # one member per 5 days -> capped at resolve_max_s
    assert resolve_after(rare, FAST) == FAST.resolve_max_s
    burst = behavior(T0, T0 + 10, 11)  # one member per second -> never sooner than resolve_min_s
    assert resolve_after(burst, FAST) == FAST.resolve_min_s
    decide = lifecycle_decider(FAST)
    buckets = steady(T0, T0 + 12 * 3600, 300)
    assert decide(every_5_min, buckets, every_5_min.last_seen + 2999) is None
    resolved = decide(every_5_min, buckets, every_5_min.last_seen + 3000)
    assert resolved is not None
    assert (resolved.state, resolved.event, resolved.severity) == ("resolved", "behavior.resolved", "low")
    # Resolved stays resolved until a member arrives (the write adding it regresses it).
    gone = dataclasses.replace(every_5_min, state=records.STATE_RESOLVED, severity="low")
    assert decide(gone, buckets, gone.last_seen + 86400) is None


def test_increasing_needs_a_rise_over_the_usual_rate_and_enough_members() -> None:
    now = T0 + 6 * 3600
    b = behavior(T0, now, 80)
    usual = steady(T0, now - 900, 600)  # one per 10 minutes
    assert not is_increasing(b, usual, now, FAST)
    burst = dict(usual)
    burst[bucket_of(now)] = burst.get(bucket_of(now), 0) + 12
    assert is_increasing(b, burst, now, FAST)
    change = lifecycle_decider(FAST)(b, burst, now)
    assert change is not None and (change.state, change.event) == ("increasing", "behavior.increasing")
    assert change.severity == "high"  # medium by its 48 members, one step up while increasing
    few = dict(usual)
    few[bucket_of(now)] = few.get(bucket_of(now), 0) + 3  # a rise, but under increase_min_members
    assert not is_increasing(b, few, now, FAST)
    young = behavior(now - 600, now, 20, state=records.STATE_NEW)
    assert not is_increasing(young, {bucket_of(now): 20}, now, FAST)  # no usual rate yet: it is new
    calm = lifecycle_decider(FAST)(dataclasses.replace(b, state="increasing", severity="high"), usual, now)
    assert calm is not None and (calm.state, calm.event) == ("ongoing", None)


def test_lifecycle_config_is_validated() -> None:
    parsed = parse_behaviors(Section({"lifecycle": {"resolve_min_s": 60, "increase_min_members": 3}},
                                     "behaviors"))
    assert parsed.lifecycle.resolve_min_s == 60 and parsed.lifecycle.increase_min_members == 3
    bad = [({"trend_window_s": 0}, "trend_window_s: must be > 0"),
           ({"baseline_window_s": 600}, "longer than trend_window_s"),
           ({"resolve_min_s": 7200, "resolve_max_s": 3600}, "resolve_max_s: must be at least resolve_min_s"),
           ({"increase_min_members": 0}, "increase_min_members: must be >= 1"),
           ({"resolve_after": 3}, "resolve_after")]
    for doc, message in bad:
        with pytest.raises(ConfigError, match=message):
            parse_behaviors(Section({"lifecycle": doc}, "behaviors"))


@pytest.fixture
async def state(tmp_path: Path):  # type: ignore[no-untyped-def]
    shared = SqliteSharedState(tmp_path / "state.sqlite3")
    await shared.open()
    yield shared
    await shared.close()


async def test_the_grouper_runs_the_lifecycle_on_its_clock_and_logs_each_event_once(state) -> None:  # type: ignore[no-untyped-def]
    clock, reader = Clock(), InMemoryMetricReader()
    metrics = EvaluatorMetrics(MeterProvider(metric_readers=[reader]))
    grouper = BehaviorGrouper(BehaviorsConfig(lifecycle=FAST), state, metrics, clock=clock)
    late, new, _ = await state.record_failure(failure(LATE, T0, n=1), near)
    for n in range(2, 40):  # one member every 10 minutes for six and a half hours
        await state.record_failure(failure(f"{LATE} ({n})", T0 + n * 600, n=n), near)
    clock.now = T0 + 39 * 600 + 60
    assert await grouper.run_lifecycle() == 0  # new -> ongoing logs nothing
    assert (await state.behavior(late.id)).state == "ongoing"
    for n in range(40, 50):  # a burst: ten in ten minutes
        await state.record_failure(failure(f"{LATE} ({n})", clock.now + (n - 40) * 60, n=n), near)
    clock.now += 600
    assert await grouper.run_lifecycle() == 1
    assert await grouper.run_lifecycle() == 0  # the same transition is not logged twice
    clock.now += 86400  # nothing for a day
    assert await grouper.run_lifecycle() == 1
    back, *_ = await state.record_failure(failure(LATE + " again", clock.now, n=99, service="api"), near)
    assert (back.id, back.state) == (late.id, "regressed") and back.services == ("shop", "api")
    await state.record_failure(failure(LEAK, clock.now, n=100), near)

    events = await StateBehaviorEventLog(state).events_after(0)
    assert [(e.kind.value, e.behavior_id == late.id) for e in events] == [
        ("behavior.created", True), ("behavior.increasing", True), ("behavior.resolved", True),
        ("behavior.regressed", True), ("behavior.created", False)]
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5] and len({e.event_id for e in events}) == 5
    increasing = events[1]
    assert (increasing.state, increasing.severity, increasing.member_count) == ("increasing", "high", 49)
    assert increasing.services == ("shop",) and increasing.agents == ("support-agent",)
    assert increasing.attributes["kind"] == "failure" and len(increasing.example_trace_ids) == 5
    assert increasing.attributes["deployment.environment.name"] == "prod"
    assert [e.sequence for e in await StateBehaviorEventLog(state).events_after(3, limit=1)] == [4]
    counted = metric_points(reader)["judgeval.behaviors.events"]
    assert sorted((p.attributes["kind"], p.value) for p in counted) == [
        ("behavior.increasing", 1), ("behavior.resolved", 1)]  # placements count only what assign places
    assert new
