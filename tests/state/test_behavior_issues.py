"""Behaviors as issues in the shared state, on SQLite and PostgreSQL: one event per transition however many
replicas race, the event log's order, and operators' decisions (dismiss, expect, merge, split) that later
automatic changes respect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from evaluator_service.behaviors.event_log import StateBehaviorEventLog
from evaluator_service.behaviors.lifecycle import lifecycle_decider
from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.state.behavior_issue_rows import BehaviorActionRefused
from evaluator_service.state.behavior_rows import bucket_of
from tests.behaviors.lifecycle_support import FAST, LATE, LEAK, T0, failure, near

decide = lifecycle_decider(FAST)
SINCE = bucket_of(T0 - 86400)


@pytest.fixture
async def replicas(state_url: str) -> AsyncIterator[tuple[SharedState, SharedState]]:
    """Two replicas' connections to one empty database."""
    a, b = open_shared_state(state_url), open_shared_state(state_url)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def kinds(state: SharedState) -> list[tuple[str, str]]:
    return [(e.kind.value, e.behavior_id) for e in await StateBehaviorEventLog(state).events_after(0, 1000)]


async def test_replicas_racing_create_one_behavior_and_log_each_transition_once(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas
    (one, new_a, _), (two, new_b, _) = await asyncio.gather(
        a.record_failure(failure(LATE, T0, n=1), near),
        b.record_failure(failure(LATE + " (2)", T0, n=2), near))
    assert one.id == two.id and sorted([new_a, new_b]) == [False, True]
    later = T0 + 86400 * 8  # quiet for longer than resolve_max_s
    both = await asyncio.gather(a.apply_lifecycle(decide, later, SINCE),
                                b.apply_lifecycle(decide, later, SINCE))
    assert sorted(len(changed) for changed in both) == [0, 1]
    again = await asyncio.gather(a.record_failure(failure(LATE, later, n=3), near),
                                 b.record_failure(failure(LATE, later, n=4), near))
    assert {placed.behavior.state for placed in again} == {"regressed"}
    assert await kinds(a) == [("behavior.created", one.id), ("behavior.resolved", one.id),
                              ("behavior.regressed", one.id)]
    assert [e.sequence for e in await StateBehaviorEventLog(b).events_after(0)] == [1, 2, 3]


async def test_dismissed_and_expected_behaviors_raise_no_events(replicas) -> None:  # type: ignore[no-untyped-def]
    state, _ = replicas
    late, *_ = await state.record_failure(failure(LATE, T0, n=1), near)
    leak, *_ = await state.record_failure(failure(LEAK, T0, n=2), near)
    dismissed = await state.set_behavior_disposition(late.id, "dismissed")
    expected = await state.set_behavior_disposition(leak.id, "expected")
    assert (dismissed.disposition, expected.disposition) == ("dismissed", "expected")  # type: ignore[union-attr]
    quiet = T0 + 86400 * 8
    changed = await state.apply_lifecycle(decide, quiet, SINCE)
    assert [(event, b.id, b.state) for event, b in changed] == [(None, leak.id, "resolved")]
    await state.record_failure(failure(LEAK, quiet, n=3), near)  # regresses silently
    assert (await state.behavior(leak.id)).state == "regressed"  # type: ignore[union-attr]
    assert [k for k, _ in await kinds(state)] == ["behavior.created", "behavior.created"]
    reopened = await state.set_behavior_disposition(late.id, "open")
    assert reopened is not None and reopened.disposition == "open"
    assert await state.set_behavior_disposition("bhv_gone", "dismissed") is None
    with pytest.raises(BehaviorActionRefused, match="one of open, dismissed, expected"):
        await state.set_behavior_disposition(late.id, "merged")


async def test_merge_folds_members_and_redirects_later_failures(replicas) -> None:  # type: ignore[no-untyped-def]
    state, other_replica = replicas
    late, *_ = await state.record_failure(failure(LATE, T0, n=1, service="shop"), near)
    await state.record_failure(failure(LATE, T0 + 300, n=2), near)
    leak, *_ = await state.record_failure(failure(LEAK, T0 + 600, n=3, service="api", agent="billing",
                                                 environment="staging"), near)
    merged = await state.merge_behaviors(late.id, leak.id)
    assert (merged.id, merged.member_count, merged.first_seen) == (leak.id, 3, T0)
    assert merged.services == ("api", "shop") and merged.agents == ("billing", "support-agent")
    assert merged.environments == ("staging", "prod")
    assert [e.span_id for e in merged.examples] == [f"{n:016x}" for n in (3, 1, 2)]
    buckets = await state.behavior_buckets(SINCE)
    assert sum(buckets[leak.id].values()) == 3
    source = await state.behavior(late.id)
    assert source is not None and (source.disposition, source.merged_into) == ("merged", leak.id)
    # The next late-order failure is nearest to the merged-away centroid: it joins the target.
    joined, new, _ = await other_replica.record_failure(failure(LATE + " (4)", T0 + 900, n=4), near)
    assert (joined.id, new, joined.member_count) == (leak.id, False, 4)
    for bad, message in [((leak.id, leak.id), "into itself"), ((late.id, leak.id), "already merged"),
                         (("bhv_gone", leak.id), "no behavior 'bhv_gone'")]:
        with pytest.raises(BehaviorActionRefused, match=message):
            await state.merge_behaviors(*bad)
    changed = await state.apply_lifecycle(decide, T0 + 86400 * 8, SINCE)
    assert [b.id for _, b in changed] == [leak.id]  # a merged-away behavior has no lifecycle of its own


async def test_split_off_moves_chosen_members_and_later_ones_follow(replicas) -> None:  # type: ignore[no-untyped-def]
    state, _ = replicas
    mixed, *_ = await state.record_failure(failure(LATE, T0, n=1), near)
    for n in (2, 3):
        await state.record_failure(failure(f"{LATE} ({n})", T0, n=n), near)
    await state.record_failure(failure(LATE + " and the parcel is lost", T0, n=4), near)
    shown = await state.behavior(mixed.id)
    assert shown is not None and shown.member_count == 4
    child = await state.split_behavior(mixed.id, [f"{4:016x}"], "Lost parcels", T0 + 60)
    assert (child.name, child.name_source, child.member_count, child.state) == ("Lost parcels", "operator",
                                                                                  1, "new")
    parent = await state.behavior(mixed.id)
    assert parent is not None and parent.member_count == 3
    assert f"{4:016x}" not in {e.span_id for e in parent.examples}
    lost, new, _ = await state.record_failure(failure(LATE + " and the parcel is lost", T0 + 120, n=5), near)
    assert (lost.id, new) == (child.id, False)
    with pytest.raises(BehaviorActionRefused, match="are not example members"):
        await state.split_behavior(mixed.id, ["ffffffffffffffff"], "", T0)
    with pytest.raises(BehaviorActionRefused, match="would leave"):
        await state.split_behavior(child.id, [e.span_id for e in lost.examples], "", T0)


async def test_replicas_reclustering_at_once_merge_each_behavior_once(replicas) -> None:  # type: ignore[no-untyped-def]
    from evaluator_service.behaviors.reclustering import recluster

    a, b = replicas
    ids = []
    for n, text in enumerate([LATE, LATE.replace("cannot", "can not"), LATE.replace(",", ""),
                              LEAK, LEAK.replace("email", "e-mail"), LEAK.replace("address", "adress")]):
        behavior, *_ = await a.record_failure(failure(text, T0 + n, n=n), lambda _d, _r: None)
        ids.append(behavior.id)
    first, second = await asyncio.gather(recluster(a, 2, 0.5), recluster(b, 2, 0.5))
    assert sorted(first + second) == sorted([(ids[1], ids[0]), (ids[2], ids[0]), (ids[4], ids[3]),
                                             (ids[5], ids[3])])
    survivors = {x.id: x.member_count for x in await b.behaviors() if x.disposition == "open"}
    assert survivors == {ids[0]: 3, ids[3]: 3}
