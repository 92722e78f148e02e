"""The split step of the re-clustering pass: member samples, splitting mixed behaviors, operators, replicas.

Real state databases (SQLite; PostgreSQL for the replica race) and the evaluation set's failure families
(benchmarks/behavior_families.py) embedded with the hashing embedder, fed into one behavior by a chooser
that always joins, as drift leaves a behavior holding two failure modes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from evaluator_service.behaviors.event_log import StateBehaviorEventLog
from evaluator_service.behaviors.matching import nearest_behavior
from evaluator_service.behaviors.splitting import split_groups, split_mixed
from evaluator_service.behaviors.text import failure_text
from evaluator_service.config_values import ConfigError, Section
from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.state.behavior_records import StoredBehavior
from evaluator_service.state.behavior_rows import FailureDraft

from .lifecycle_support import T0, failure, vectorizer

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
CUT = 0.6  # the hashing embedder's threshold (below its merge similarity, 0.65)
MIN_GROUP = 4
near = nearest_behavior(CUT)


def texts(family: str, count: int) -> list[tuple[str, str]]:
    """(reason, failure text as the grouper embeds it) of ``count`` failures of ``family``."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from behavior_families import SCORER, failure_stream
    finally:
        sys.path.remove(str(BENCHMARKS))
    found = [f for f in failure_stream(per_family=40) if f.family == family][:count]
    return [(f.reason, failure_text(SCORER, f.reason, {"input": f.input, "actual_output": f.actual_output},
                                    ("input", "actual_output"))) for f in found]


REFUNDS = texts("refund_refused", 14)
LEAKS = texts("pii_leak", 8)
REFUND_REASONS, LEAK_REASONS = {r for r, _ in REFUNDS}, {r for r, _ in LEAKS}


def draft(reason_and_text: tuple[str, str], at: float, n: int, scorer: str = "refund_keyword",
          capacity: int = 64) -> FailureDraft:
    """A failure whose vector embeds its whole text (as the grouper's) and whose evidence is its reason."""
    reason, text = reason_and_text
    base = failure(text, at, n=n, scorer=scorer)
    return dataclasses.replace(base, example=dataclasses.replace(base.example, reason=reason),
                               sample_capacity=capacity)


def join_any(_draft: FailureDraft, offered: Sequence[StoredBehavior]) -> StoredBehavior | None:
    return offered[0] if offered else None


async def mixed(state: SharedState, scorer: str = "refund_keyword", start: int = 0) -> StoredBehavior:
    """One behavior holding 14 refund refusals then 8 personal-data leaks, as drift can leave it."""
    behavior = None
    for n, text in enumerate(REFUNDS + LEAKS, start):
        behavior, *_ = await state.record_failure(draft(text, T0 + n, n, scorer), join_any)
    assert behavior is not None and behavior.member_count == 22
    return behavior


@pytest.fixture(params=["sqlite", "postgres"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    cluster = request.getfixturevalue("postgres")
    return str(cluster.url(cluster.new_database()))


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[SharedState]:
    shared = open_shared_state(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    await shared.open()
    yield shared
    await shared.close()


async def test_a_mixed_behavior_is_split_and_the_larger_group_keeps_its_id(state: SharedState) -> None:
    parent = await mixed(state)
    assert len(await state.behavior_samples(parent.id)) == 22  # under the capacity: every member sampled
    split = await split_mixed(state, CUT, MIN_GROUP, now=T0 + 100)
    assert [p for p, _ in split] == [parent.id]
    kept, child = await state.behavior(parent.id), await state.behavior(split[0][1])
    assert kept is not None and child is not None
    assert (kept.member_count, child.member_count) == (14, 8)
    assert {e.reason for e in kept.examples} <= REFUND_REASONS
    assert {e.reason for e in child.examples} <= LEAK_REASONS
    assert {s.reason for s in await state.behavior_samples(child.id)} == LEAK_REASONS
    assert (child.state, child.disposition, child.name_source) == ("new", "open", "provisional")
    assert (child.first_seen, child.last_seen, child.kind) == (T0 + 14, T0 + 21, "failure")
    assert child.name and child.name != kept.name
    events = await StateBehaviorEventLog(state).events_after(0, 100)
    assert [(e.kind.value, e.behavior_id) for e in events] == [("behavior.created", parent.id),
                                                                 ("behavior.created", child.id)]
    assert events[1].name == child.name and events[1].member_count == 8
    buckets = await state.behavior_buckets(0)
    assert sum(buckets[parent.id].values()) == 14 and sum(buckets[child.id].values()) == 8
    # The next pass finds both coherent; a later leak joins the new behavior, a refusal the old one.
    assert await split_mixed(state, CUT, MIN_GROUP, now=T0 + 200) == []
    leak, *_ = await state.record_failure(draft(LEAKS[0], T0 + 300, 300), near)
    refund, *_ = await state.record_failure(draft(REFUNDS[0], T0 + 301, 301), near)
    assert (leak.id, refund.id) == (child.id, parent.id)
    # A leak scored again (after a crash) is not counted again, and gets the behavior it is in now.
    copy = await state.record_failure(draft(LEAKS[1], T0 + 302, 15), near)
    assert (copy.behavior.id, copy.created, copy.replayed, copy.behavior.member_count) == (child.id, False,
                                                                                           True, 9)


async def test_a_behavior_unchanged_since_it_was_looked_at_is_skipped(state: SharedState) -> None:
    parent = await mixed(state)
    looked_at = {parent.id: 22}
    assert await split_mixed(state, CUT, MIN_GROUP, T0 + 100, looked_at=looked_at) == []
    await state.record_failure(draft(REFUNDS[2], T0 + 50, 50), join_any)  # a new member: look again
    split = await split_mixed(state, CUT, MIN_GROUP, T0 + 100, looked_at=looked_at)
    assert [p for p, _ in split] == [parent.id]
    assert looked_at[parent.id] == 23


async def test_a_coherent_behavior_is_not_split(state: SharedState) -> None:
    for n, text in enumerate(texts("refund_refused", 30)):
        await state.record_failure(draft(text, T0 + n, n), join_any)
    assert await split_mixed(state, CUT, MIN_GROUP, now=T0 + 100) == []
    assert len(await state.behaviors()) == 1


async def test_operators_decisions_are_never_split(state: SharedState) -> None:
    renamed = await mixed(state, "renamed", 0)
    await state.rename_behavior(renamed.id, "Refunds and leaks (checked)", "operator")
    expected = await mixed(state, "expected", 100)
    await state.set_behavior_disposition(expected.id, "expected")
    dismissed = await mixed(state, "dismissed", 200)
    await state.set_behavior_disposition(dismissed.id, "dismissed")
    merged_into = await mixed(state, "merged_into", 300)
    other, *_ = await state.record_failure(failure("Tool call timed out", T0, n=399, scorer="merged_into"),
                                          lambda _d, _r: None)
    await state.merge_behaviors(other.id, merged_into.id)
    operator_split = await mixed(state, "operator_split", 400)
    await state.split_behavior(operator_split.id, [f"{421:016x}"], "", T0 + 50)
    automatic = await mixed(state, "automatic", 500)
    split = await split_mixed(state, CUT, MIN_GROUP, now=T0 + 100)
    assert [p for p, _ in split] == [automatic.id]  # the only behavior no operator decided about


async def test_an_automatic_merge_does_not_pin_a_behavior(state: SharedState) -> None:
    parent = await mixed(state)
    other, *_ = await state.record_failure(draft(REFUNDS[1], T0 + 50, 50), lambda _d, _r: None)
    await state.merge_behaviors(other.id, parent.id, by_operator=False)
    assert await state.pinned_behaviors() == set()
    assert [p for p, _ in await split_mixed(state, CUT, MIN_GROUP, now=T0 + 100)] == [parent.id]


async def test_replicas_splitting_at_once_split_each_behavior_once(state_url: str) -> None:
    a, b = open_shared_state(state_url), open_shared_state(state_url)
    await a.open()
    await b.open()
    try:
        parent = await mixed(a)
        first, second = await asyncio.gather(split_mixed(a, CUT, MIN_GROUP, T0 + 100),
                                             split_mixed(b, CUT, MIN_GROUP, T0 + 100))
        assert len(first + second) == 1 and (first + second)[0][0] == parent.id
        assert len(await b.behaviors()) == 2
        created = [e for e in await StateBehaviorEventLog(b).events_after(0, 100)]
        assert [e.behavior_id for e in created] == [parent.id, (first + second)[0][1]]
        assert sum(x.member_count for x in await a.behaviors()) == 22
    finally:
        await a.close()
        await b.close()


async def test_the_member_sample_is_a_bounded_reservoir(state: SharedState) -> None:
    behavior = None
    for n in range(60):
        behavior, *_ = await state.record_failure(draft(REFUNDS[n % 14], T0 + n, n, capacity=8), join_any)
    assert behavior is not None
    sample = await state.behavior_samples(behavior.id)
    assert len(sample) == 8 and len({s.span_id for s in sample}) == 8
    assert any(s.at >= T0 + 8 for s in sample)  # later members replace earlier ones (p ~ 1 - 1e-6)
    assert all(len(s.vector) == len(vectorizer.vectorize("x")) for s in sample)


def test_split_groups_needs_separated_groups_of_the_minimum_size() -> None:
    refunds = [vectorizer.vectorize(t) for _, t in REFUNDS]
    leaks = [vectorizer.vectorize(t) for _, t in LEAKS]
    groups = split_groups(refunds + leaks, CUT, MIN_GROUP)
    assert groups == [list(range(14)), list(range(14, 22))]
    assert split_groups(refunds + leaks[:3], CUT, MIN_GROUP) == []  # three leaks are too few to stand alone
    assert split_groups(refunds + leaks, 0.01, MIN_GROUP) == []  # centroids more similar than that
    assert split_groups(refunds[:5], CUT, MIN_GROUP) == []  # too few to look at


def test_split_settings_are_validated() -> None:
    from evaluator_service.behaviors.settings import parse_behaviors


    keys = {"recluster_sample_size": 16, "recluster_split_min_group": 3}
    parsed = parse_behaviors(Section(keys, "behaviors"))
    assert (parsed.recluster_sample_size, parsed.recluster_split_min_group) == (16, 3)
    with pytest.raises(ConfigError, match="recluster_split_min_group"):
        parse_behaviors(Section({"recluster_split_min_group": 1}, "behaviors"))


async def test_the_benchmark_splits_merged_families_back_and_no_coherent_one() -> None:
    from .test_reclustering import benchmark_module

    found = await benchmark_module().run_split_back("wordllama", per_family=12, seed=7)
    # Measured (12 per family): 74 of 78 pairs split back exactly, 77 at 90% purity, no family split.
    assert found["pairs"] == 78 and found["split_back"] >= 55 and found["coherent_split"] == 0


async def test_the_grouper_splits_before_merging_and_counts_the_new_behaviors(state: SharedState) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from evaluator_service.behaviors.grouper import BehaviorGrouper
    from evaluator_service.behaviors.settings import LOCAL_HASHING, BehaviorsConfig, ModelEndpoint
    from evaluator_service.metrics import EvaluatorMetrics
    from tests.support.evaluator import metric_points

    reader = InMemoryMetricReader()
    metrics = EvaluatorMetrics(MeterProvider(metric_readers=[reader]))
    config = BehaviorsConfig(embedding=ModelEndpoint(local=LOCAL_HASHING),
                             recluster_split_min_group=MIN_GROUP)
    grouper = BehaviorGrouper(config, state, metrics)
    off = BehaviorGrouper(dataclasses.replace(config, recluster_sample_size=0), state, metrics)
    try:
        parent = await mixed(state)
        assert await off.run_splitting() == []  # sample_size 0: no splits
        assert await grouper.run_reclustering() == []  # nothing to merge: the split halves are far apart
        assert sorted(b.member_count for b in await state.behaviors()) == [8, 14]
        assert (await state.behavior(parent.id)).member_count == 14  # type: ignore[union-attr]
        counted = metric_points(reader)["judgeval.behaviors.events"]
        assert [(p.attributes["kind"], p.value) for p in counted] == [("behavior.created", 1)]
    finally:
        await grouper.stop()
        await off.stop()


async def test_a_behavior_with_an_unreadable_sample_fails_alone(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.sqlite3"
    state = open_shared_state(f"sqlite:///{path}")
    await state.open()
    try:
        broken, fine = await mixed(state, "broken", 0), await mixed(state, "fine", 100)
        with sqlite3.connect(path) as db:
            db.execute("UPDATE judgeval_behavior_samples SET vector = 'not json' WHERE id = ? AND slot = 3",
                       (broken.id,))
        failed: list[str] = []
        split = await split_mixed(state, CUT, MIN_GROUP, T0 + 100, failed=failed.append)
        assert ([p for p, _ in split], failed) == ([fine.id], [broken.id])
        assert (await state.behavior(broken.id)).member_count == 22  # type: ignore[union-attr]
    finally:
        await state.close()


async def behavior_of(state: SharedState, texts_: list[tuple[str, str]], start: int,
                      capacity: int = 64) -> StoredBehavior:
    """One behavior of the given failures (the first opens it, the others join it)."""
    behavior: StoredBehavior | None = None

    def join_it(_draft: FailureDraft, offered: Sequence[StoredBehavior]) -> StoredBehavior | None:
        return next((b for b in offered if behavior is not None and b.id == behavior.id), None)

    for n, text in enumerate(texts_, start):
        behavior, *_ = await state.record_failure(draft(text, T0 + n, n, capacity=capacity), join_it)
    assert behavior is not None and behavior.member_count == len(texts_)
    return behavior


async def test_a_merge_carries_the_sources_sampled_members_so_a_later_split_sees_them(
        state: SharedState) -> None:
    refunds = await behavior_of(state, REFUNDS, 0)
    leaks = await behavior_of(state, LEAKS, 100)
    await state.merge_behaviors(leaks.id, refunds.id, by_operator=False)
    assert {s.reason for s in await state.behavior_samples(refunds.id)} == REFUND_REASONS | LEAK_REASONS
    assert await state.behavior_samples(leaks.id) == []  # the merged-away behavior keeps no rows
    split = await split_mixed(state, CUT, MIN_GROUP, now=T0 + 200)
    assert [p for p, _ in split] == [refunds.id]
    child = await state.behavior(split[0][1])
    assert child is not None and child.member_count == 8


async def test_a_merged_sample_stays_within_the_capacity_in_proportion_to_members(
        state: SharedState) -> None:
    refunds = await behavior_of(state, REFUNDS, 0, capacity=8)  # 14 members, 8 sampled
    leaks = await behavior_of(state, LEAKS[:4], 100, capacity=8)  # 4 members, all sampled
    await state.merge_behaviors(leaks.id, refunds.id, by_operator=False, sample_capacity=8)
    sample = await state.behavior_samples(refunds.id)
    assert len(sample) == 8
    from_leaks = [s for s in sample if s.reason in LEAK_REASONS]
    assert len(from_leaks) == 2  # 8 x 4/18, rounded: the leaks' share of the merged members
