"""A span scored twice is one behavior member, on SQLite and PostgreSQL: the same (kind, scorer, trace id,
span id) placed again — by the same replica after a restart, or by another replica at the same moment —
changes no member count, trend bucket, evidence, member sample or event, and gets the behavior it was
placed in.

Before the placement key, each copy was counted: member counts, buckets and evidence doubled, and a copy
joining a resolved behavior logged a second ``behavior.regressed``."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from evaluator_service.behaviors.event_log import StateBehaviorEventLog
from evaluator_service.behaviors.lifecycle import lifecycle_decider
from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.state.behavior_records import KIND_ERROR, StoredBehavior
from evaluator_service.state.behavior_rows import bucket_of
from tests.behaviors.lifecycle_support import FAST, LATE, LEAK, T0, failure, near

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


async def counted(state: SharedState, behavior_id: str) -> dict[str, object]:
    """Everything a member adds to: count, buckets, evidence, sample, and the event log."""
    behavior = await state.behavior(behavior_id)
    assert behavior is not None
    buckets = (await state.behavior_buckets(SINCE)).get(behavior_id, {})
    events = await StateBehaviorEventLog(state).events_after(0, 1000)
    return {
        "members": behavior.member_count,
        "bucketed": sum(buckets.values()),
        "examples": [e.span_id for e in behavior.examples],
        "sampled": sorted(m.span_id for m in await state.behavior_samples(behavior_id)),
        "events": [e.kind.value for e in events if e.behavior_id == behavior_id],
    }


async def test_a_span_placed_again_is_counted_once(replicas) -> None:  # type: ignore[no-untyped-def]
    state, _ = replicas
    first = await state.record_failure(failure(LATE, T0, n=1), near)
    second = await state.record_failure(failure(LATE + " (2)", T0 + 1, n=2), near)
    before = await counted(state, first.behavior.id)
    assert before == {"members": 2, "bucketed": 2, "examples": [f"{1:016x}", f"{2:016x}"],
                      "sampled": [f"{1:016x}", f"{2:016x}"], "events": ["behavior.created"]}
    # Both spans scored again after a restart, minutes later: nothing moves, each gets its behavior.
    again_first = await state.record_failure(failure(LATE, T0 + 600, n=1), near)
    again_second = await state.record_failure(failure(LATE + " (2)", T0 + 601, n=2), near)
    assert (again_first.behavior.id, again_first.created, again_first.replayed) == (first.behavior.id, True,
                                                                                    True)
    assert (again_second.behavior.id, again_second.created, again_second.replayed) == (first.behavior.id,
                                                                                       False, True)
    assert (first.replayed, second.replayed) == (False, False)
    assert await counted(state, first.behavior.id) == before
    assert again_first.behavior.last_seen == T0 + 1  # the copy's time is not a sighting either


async def test_replicas_placing_one_span_at_once_count_it_once(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas
    one, two = await asyncio.gather(a.record_failure(failure(LEAK, T0, n=7), near),
                                    b.record_failure(failure(LEAK, T0, n=7), near))
    assert one.behavior.id == two.behavior.id
    assert sorted([one.replayed, two.replayed]) == [False, True] and one.created and two.created
    assert await counted(a, one.behavior.id) == {"members": 1, "bucketed": 1, "examples": [f"{7:016x}"],
                                                 "sampled": [f"{7:016x}"], "events": ["behavior.created"]}
    assert len(await b.behaviors()) == 1


async def test_a_copy_of_the_member_that_regressed_a_behavior_logs_no_second_event(replicas) -> None:  # type: ignore[no-untyped-def]
    state, other_replica = replicas
    late, *_ = await state.record_failure(failure(LATE, T0, n=1), near)
    quiet = T0 + 86400 * 8
    await state.apply_lifecycle(lifecycle_decider(FAST), quiet, SINCE)
    back = await state.record_failure(failure(LATE, quiet, n=2), near)
    again = await other_replica.record_failure(failure(LATE, quiet + 30, n=2), near)
    assert (back.behavior.state, again.behavior.state, again.replayed) == ("regressed", "regressed", True)
    assert (await counted(state, late.id))["events"] == ["behavior.created", "behavior.resolved",
                                                        "behavior.regressed"]
    assert (await counted(state, late.id))["members"] == 2


async def test_the_key_is_the_kind_scorer_and_span(replicas) -> None:  # type: ignore[no-untyped-def]
    state, _ = replicas
    refund, *_ = await state.record_failure(failure(LATE, T0, n=1), near)
    # The same span failing another scorer, or erroring rather than failing, is another member.
    tone = await state.record_failure(failure(LATE, T0, n=1, scorer="tone"), near)
    errored = await state.record_failure(dataclasses.replace(failure(LATE, T0, n=1), kind=KIND_ERROR), near)
    assert not tone.replayed and not errored.replayed
    assert len({refund.id, tone.behavior.id, errored.behavior.id}) == 3
    # A member without span ids cannot be told from a copy: each one counts.
    anonymous = failure(LATE, T0, n=3)
    anonymous = dataclasses.replace(anonymous, example=dataclasses.replace(anonymous.example, span_id=""))
    for _ in range(2):
        assert not (await state.record_failure(anonymous, near)).replayed
    assert (await state.behavior(refund.id)).member_count == 3  # type: ignore[union-attr]


async def test_a_copy_follows_a_merge_and_keys_are_forgotten_after_their_time(replicas) -> None:  # type: ignore[no-untyped-def]
    state, _ = replicas
    late, *_ = await state.record_failure(failure(LATE, T0, n=1), near)
    leak, *_ = await state.record_failure(failure(LEAK, T0 + 1, n=2), near)
    merged: StoredBehavior = await state.merge_behaviors(late.id, leak.id)
    copy = await state.record_failure(failure(LATE, T0 + 60, n=1), near)
    assert (copy.behavior.id, copy.replayed, merged.member_count) == (leak.id, True, 2)
    assert (await state.behavior(leak.id)).member_count == 2  # type: ignore[union-attr]
    await state.forget_placements_before(T0 + 0.5)  # the first key only
    assert not (await state.record_failure(failure(LATE, T0 + 120, n=1), near)).replayed
    assert (await state.record_failure(failure(LEAK, T0 + 120, n=2), near)).replayed
    assert (await state.behavior(leak.id)).member_count == 3  # type: ignore[union-attr]


async def test_a_copy_of_a_member_split_off_gets_the_behavior_it_is_in_now(replicas) -> None:  # type: ignore[no-untyped-def]
    state, _ = replicas
    mixed, *_ = await state.record_failure(failure(LATE, T0, n=1), near)
    await state.record_failure(failure(LATE + " (2)", T0 + 1, n=2), near)
    await state.record_failure(failure(LATE + " and the parcel is lost", T0 + 2, n=3), near)
    child = await state.split_behavior(mixed.id, [f"{3:016x}"], "Lost parcels", T0 + 60)
    moved = await state.record_failure(failure(LATE + " and the parcel is lost", T0 + 120, n=3), near)
    kept = await state.record_failure(failure(LATE, T0 + 120, n=1), near)
    assert (moved.behavior.id, moved.created, moved.replayed) == (child.id, False, True)
    assert (kept.behavior.id, kept.created, kept.replayed) == (mixed.id, True, True)
    assert [(await state.behavior(b)).member_count for b in (mixed.id, child.id)] == [2, 1]  # type: ignore[union-attr]
