"""Each behavior's member sample, and the automatic split of a mixed behavior along it.

Every member write (:meth:`~evaluator_service.state.behavior_rows.SqlBehaviorRows.record_failure`) keeps the
member in a reservoir of at most ``sample_capacity`` members per behavior (``judgeval_behavior_samples``),
with its trace/span ids, reason and vector: a uniform sample of all its members, whatever their number.
The re-clustering pass (:mod:`evaluator_service.behaviors.splitting`) clusters that sample and, when a
behavior turns out to hold two or more failure modes, calls :meth:`SqlBehaviorSampleRows.split_sampled`.

The split runs in one transaction under the scorer's lock: the behavior keeps its id and the members it
keeps; each other group becomes a new behavior (state ``new``, its sampled members, its share of the member
count and of the trend buckets, its evidence, its centroid) with a ``behavior.created`` event. Member counts
and buckets of a split are estimates (each group's share of the sample applied to the whole); centroids are
the means of the sampled members. A second replica planning the same split finds the planned members gone
from the behavior's sample and does nothing, so a behavior is split once. Operators' decisions win: a
behavior an operator named, dismissed, marked expected, merged away or merged others into, or split, is
never split automatically.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from evaluator_service.state import schema
from evaluator_service.state.behavior_event_rows import append_event
from evaluator_service.state.behavior_issue_rows import follow_split
from evaluator_service.state.behavior_members import read_behavior, scorer_lock
from evaluator_service.state.behavior_placements import move_placements
from evaluator_service.state.behavior_records import (
    EVENT_CREATED,
    MAX_EXAMPLES,
    NAME_OPERATOR,
    NAME_PROVISIONAL,
    OPEN,
    STATE_NEW,
    StoredBehavior,
    behavior_row,
    issue_row,
    members_update,
)
from evaluator_service.state.sample_reservoir import SampledMember, read_samples, write_samples
from evaluator_service.state.transaction import Transaction, TransactionSource


@dataclass(frozen=True, slots=True)
class SplitGroup:
    """Sampled members (``(trace_id, span_id)`` keys) to move into a new behavior named ``name``."""

    members: tuple[tuple[str, str], ...]
    name: str


def splittable(b: StoredBehavior) -> bool:
    """Whether the automatic split may touch ``b`` by its own fields (pins are checked apart)."""
    return b.disposition == OPEN and b.name_source != NAME_OPERATOR


class BehaviorSampleState(Protocol):
    """The member-sample part of the shared state."""

    async def behavior_samples(self, behavior_id: str) -> list[SampledMember]:
        """The sampled members of one behavior, in slot order."""
        ...

    async def pinned_behaviors(self) -> set[str]:
        """Ids of behaviors an operator merged others into or split (never split automatically)."""
        ...

    async def split_sampled(self, behavior_id: str, groups: Sequence[SplitGroup], now: float
                            ) -> list[StoredBehavior]:
        """Move each group of sampled members into a new behavior (see the module doc); returns the new
        behaviors, none if the behavior may not be split or the planned members are no longer in it."""
        ...


class SqlBehaviorSampleRows(TransactionSource):
    """:class:`BehaviorSampleState` over the backend's transactions."""

    async def behavior_samples(self, behavior_id: str) -> list[SampledMember]:
        async with self._transaction() as tx:
            return await read_samples(tx, behavior_id)

    async def pinned_behaviors(self) -> set[str]:
        async with self._transaction() as tx:
            return {str(row[0]) for row in await tx.execute(schema.SELECT_BEHAVIOR_PINS)}

    async def split_sampled(self, behavior_id: str, groups: Sequence[SplitGroup], now: float
                            ) -> list[StoredBehavior]:
        async with self._transaction() as tx:
            first = await read_behavior(tx, behavior_id)
            if first is None:
                return []
            await tx.lock(scorer_lock(first.scorer))
            parent = await read_behavior(tx, behavior_id)
            if (parent is None or not splittable(parent) or not groups
                    or await tx.execute(schema.SELECT_BEHAVIOR_PIN, (behavior_id,))):
                return []
            samples = await read_samples(tx, behavior_id)
            by_key = {s.key: s for s in samples}
            wanted = [key for g in groups for key in g.members]
            if any(key not in by_key for key in wanted) or len(set(wanted)) != len(wanted):
                return []  # another replica split it first (or its sample changed since the plan)
            moved = set(wanted)
            kept = [s for s in samples if s.key not in moved]
            if not kept:
                return []
            buckets = [(int(b), int(m)) for b, m in
                       await tx.execute(schema.SELECT_EVERY_BEHAVIOR_BUCKET, (behavior_id,))]
            children = [await _split_off(tx, parent, [by_key[k] for k in g.members], g.name,
                                         len(samples), buckets, now) for g in groups]
            left = max(parent.member_count - sum(c.member_count for c in children), len(kept))
            examples = tuple(e for e in parent.examples if (e.trace_id, e.span_id) not in moved)
            usable = [s.vector for s in kept if len(s.vector) == len(parent.centroid)]
            rest = dataclasses.replace(
                parent, centroid=_mean(usable) if usable else parent.centroid, member_count=left,
                examples=examples or tuple(s.as_example() for s in kept[-MAX_EXAMPLES:]),
            )
            await tx.execute(schema.UPDATE_BEHAVIOR_MEMBERS, members_update(rest))
            await write_samples(tx, rest.id, kept)
            for child in children:
                await follow_split(tx, rest, child)
            await tx.execute(schema.BUMP_COUNTER)
            return children


async def _split_off(tx: Transaction, parent: StoredBehavior, members: list[SampledMember], name: str,
                     sampled: int, buckets: list[tuple[int, int]], now: float) -> StoredBehavior:
    """Insert the new behavior of ``members`` (its share of ``parent``'s members and buckets) and its
    ``behavior.created`` event; take its buckets off the parent's."""
    share = len(members) / sampled
    by_time = sorted(members, key=lambda s: s.at)
    child = StoredBehavior(
        id=f"bhv_{uuid.uuid4().hex[:12]}", scorer=parent.scorer, space=parent.space,
        name=name or f"split from {parent.name}", name_source=NAME_PROVISIONAL,
        centroid=_mean([s.vector for s in members]),
        member_count=max(len(members), round(parent.member_count * share)),
        first_seen=by_time[0].at, last_seen=by_time[-1].at,
        examples=tuple(s.as_example() for s in by_time[-MAX_EXAMPLES:]), kind=parent.kind, state=STATE_NEW,
        state_since=now, description=by_time[-1].reason[:300], scorers=parent.scorers,
        services=parent.services, agents=parent.agents, environments=parent.environments,
    )
    await tx.execute(schema.INSERT_BEHAVIOR, behavior_row(child))
    await tx.execute(schema.INSERT_BEHAVIOR_ISSUE, issue_row(child))
    for bucket, count in buckets:
        taken = min(count, round(count * share))
        if taken:
            await tx.execute(schema.ADD_BEHAVIOR_MEMBERS, (child.id, bucket, taken))
            await tx.execute(schema.ADD_BEHAVIOR_MEMBERS, (parent.id, bucket, -taken))
    await write_samples(tx, child.id, members)
    await move_placements(tx, parent.id, child.id, (s.key for s in members))
    await append_event(tx, EVENT_CREATED, child, now)
    return child


def _mean(vectors: Sequence[Sequence[float]]) -> list[float]:
    return [sum(col) / len(vectors) for col in zip(*vectors, strict=True)]
