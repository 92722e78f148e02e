"""Behaviors in the shared state: one row per group of similar failures, shared by every replica.

:meth:`SqlBehaviorRows.record_failure` is the one write on the hot path: under a per-scorer lock (a
PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE`` already serializes writers) it re-reads the
behaviors the failure may join, lets the caller's :data:`BehaviorChooser` pick one, and joins it or inserts
a new behavior. Two replicas seeing the same new failure at once therefore end with one behavior, not two.
Which behavior a failure belongs to is the behaviors layer's decision
(:mod:`evaluator_service.behaviors.matching`); this module only keeps the rows: member count and members
per time bucket, the centroid as the mean of the members' vectors, the latest examples, the name and where
it came from, the services and agents touched (what a join writes is
:mod:`~evaluator_service.state.behavior_members`).

The same transaction keeps the lifecycle honest: a new behavior appends ``behavior.created`` to the event
log, a member joining a resolved behavior makes it ``regressed`` and appends ``behavior.regressed``, and a
member chosen for a behavior an operator merged away joins the behavior it was merged into.

A failure is counted once per (kind, scorer, trace id, span id): the same transaction writes its placement key
(:mod:`evaluator_service.state.behavior_placements`), and a span scored again (after a crash, or a
collector's retry to any replica) finds its earlier placement and changes nothing.

Only creations and renames bump the change counter: a join moves a centroid a little and adds one to a
count, which other replicas do not need to hear about within the second.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from evaluator_service.state import schema
from evaluator_service.state.behavior_event_rows import append_event
from evaluator_service.state.behavior_members import (
    BUCKET_S,
    MAX_MERGE_HOPS,
    FailureDraft,
    bucket_of,
    join_behavior,
    read_behavior,
    running_mean,
    sample_member,
    scorer_lock,
    taking_behavior,
)
from evaluator_service.state.behavior_placements import (
    Placement,
    PlacementKey,
    forget_placements,
    placed_before,
    remember_placement,
)
from evaluator_service.state.behavior_records import (
    EVENT_CREATED,
    MAX_EXAMPLES,
    MERGED,
    NAME_AUTO,
    NAME_OPERATOR,
    NAME_PROVISIONAL,
    STATE_NEW,
    BehaviorExample,
    StoredBehavior,
    behavior_from_row,
    behavior_row,
    issue_row,
    touched,
)
from evaluator_service.state.transaction import Transaction, TransactionSource

__all__ = [
    "BUCKET_S",
    "MAX_EXAMPLES",
    "NAME_AUTO",
    "NAME_OPERATOR",
    "NAME_PROVISIONAL",
    "BehaviorChooser",
    "BehaviorExample",
    "BehaviorState",
    "FailureDraft",
    "Placement",
    "SqlBehaviorRows",
    "StoredBehavior",
    "bucket_of",
    "running_mean",
]


BehaviorChooser = Callable[[FailureDraft, Sequence[StoredBehavior]], StoredBehavior | None]
"""Given a failure and stored behaviors it may join (of its scorer, in its vector space, read under the
per-scorer lock), return the one of them it joins, or ``None`` to create a new behavior. Called inside the
writing transaction, so it sees a stable set."""


class BehaviorState(Protocol):
    """The behavior part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def behaviors(self) -> list[StoredBehavior]:
        """Every behavior, most members first."""
        ...

    async def behavior(self, behavior_id: str) -> StoredBehavior | None:
        """One behavior, or ``None``."""
        ...

    async def record_failure(self, draft: FailureDraft, choose: BehaviorChooser,
                             candidate_id: str | None = None) -> Placement:
        """Join the behavior ``choose`` picks, or create one; returns the behavior after the write and
        whether this call created it. A draft whose (kind, scorer, trace id, span id) was placed before
        (and is still remembered) writes nothing and returns that behavior, ``replayed``.

        ``candidate_id`` is the caller's likely match (from its in-memory index): it is offered to
        ``choose`` alone first, so a hit reads one row; if it is gone or declined, every behavior of the
        draft's scorer and space is offered. A behavior merged away passes the member on."""
        ...

    async def forget_placements_before(self, before: float) -> None:
        """Forget the placement keys written before ``before`` (bounded retention)."""
        ...

    async def placed_behavior(self, key: PlacementKey) -> StoredBehavior | None:
        """The behavior (issue) the member ``key`` is in now: where it was placed, followed through an
        operator's merges; ``None`` when it was never placed, is no longer remembered, or its behavior is
        gone. Reads only (an alert links its breaching span to this issue)."""
        ...

    async def rename_behavior(self, behavior_id: str, name: str, source: str) -> StoredBehavior | None:
        """Set the name (an operator's name is never replaced by a generated one); ``None`` if gone."""
        ...


class SqlBehaviorRows(TransactionSource):
    """:class:`BehaviorState` over the backend's transactions."""

    async def behaviors(self) -> list[StoredBehavior]:
        async with self._transaction() as tx:
            return [behavior_from_row(row) for row in await tx.execute(schema.SELECT_BEHAVIORS)]

    async def behavior(self, behavior_id: str) -> StoredBehavior | None:
        async with self._transaction() as tx:
            return await read_behavior(tx, behavior_id)

    async def record_failure(self, draft: FailureDraft, choose: BehaviorChooser,
                             candidate_id: str | None = None) -> Placement:
        now = draft.at if draft.at is not None else time.time()
        key = PlacementKey(draft.kind, draft.scorer, draft.example.trace_id, draft.example.span_id)
        async with self._transaction() as tx:
            await tx.lock(scorer_lock(draft.scorer))
            earlier = await placed_before(tx, key)
            placed = await read_behavior(tx, earlier.behavior_id) if earlier is not None else None
            if earlier is not None and placed is not None:
                return Placement(await taking_behavior(tx, placed), earlier.created, replayed=True)
            match = await _chosen(tx, draft, choose, candidate_id)
            if match is not None:
                joined = await join_behavior(tx, await taking_behavior(tx, match), draft, now)
                await remember_placement(tx, key, joined.id, False, now)
                return Placement(joined, False)
            created = StoredBehavior(
                id=f"bhv_{uuid.uuid4().hex[:12]}", scorer=draft.scorer, space=draft.space,
                name=draft.provisional_name, name_source=NAME_PROVISIONAL, centroid=list(draft.vector),
                member_count=1, first_seen=now, last_seen=now, examples=(draft.example,), kind=draft.kind,
                state=STATE_NEW, state_since=now, description=draft.description[:300],
                scorers=(draft.scorer,), services=touched((), [draft.service]),
                agents=touched((), [draft.agent, *draft.agents]),
                environments=touched((), [draft.environment]),
            )
            await tx.execute(schema.INSERT_BEHAVIOR, behavior_row(created))
            await tx.execute(schema.INSERT_BEHAVIOR_ISSUE, issue_row(created))
            await tx.execute(schema.ADD_BEHAVIOR_MEMBERS, (created.id, bucket_of(now), 1))
            await sample_member(tx, created.id, 1, draft, now)
            await append_event(tx, EVENT_CREATED, created, now)
            await tx.execute(schema.BUMP_COUNTER)
            await remember_placement(tx, key, created.id, True, now)
            return Placement(created, True)

    async def placed_behavior(self, key: PlacementKey) -> StoredBehavior | None:
        async with self._transaction() as tx:
            earlier = await placed_before(tx, key)
            current = await read_behavior(tx, earlier.behavior_id) if earlier is not None else None
            for _ in range(MAX_MERGE_HOPS):
                if current is None or current.disposition != MERGED or not current.merged_into:
                    break
                target = await read_behavior(tx, current.merged_into)
                if target is None:
                    break
                current = target
            return current

    async def forget_placements_before(self, before: float) -> None:
        async with self._transaction() as tx:
            await forget_placements(tx, before)

    async def rename_behavior(self, behavior_id: str, name: str, source: str) -> StoredBehavior | None:
        async with self._transaction() as tx:
            current = await read_behavior(tx, behavior_id)
            if current is None:
                return None
            if current.name_source == NAME_OPERATOR and source != NAME_OPERATOR:
                return current
            if current.name_source == NAME_AUTO and source == NAME_PROVISIONAL:
                return current  # a model's name beats a salient-terms one
            if source == NAME_OPERATOR:
                await tx.execute(schema.UPDATE_BEHAVIOR_NAME, (name, source, behavior_id))
            else:
                await tx.execute(schema.UPDATE_GENERATED_BEHAVIOR_NAME,
                                 (name, source, behavior_id, NAME_OPERATOR))
            await tx.execute(schema.BUMP_COUNTER)
        return dataclasses.replace(current, name=name, name_source=source)


async def _chosen(tx: Transaction, draft: FailureDraft, choose: BehaviorChooser, candidate_id: str | None
                  ) -> StoredBehavior | None:
    """The behavior ``draft`` joins: the caller's candidate if it still exists and ``choose`` takes it,
    else what ``choose`` picks among the scorer's behaviors in the draft's space, else ``None``."""
    if candidate_id:
        found = await read_behavior(tx, candidate_id)
        wanted = (draft.scorer, draft.space, draft.kind)
        offered = [found] if found is not None and (found.scorer, found.space, found.kind) == wanted else []
        if offered and choose(draft, offered) is not None:
            return offered[0]
    rows = await tx.execute(schema.SELECT_BEHAVIORS_OF_SCORER, (draft.scorer, draft.space))
    return choose(draft, [b for b in map(behavior_from_row, rows) if b.kind == draft.kind])


