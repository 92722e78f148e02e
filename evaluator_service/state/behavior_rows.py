"""Behaviors in the shared state: one row per group of similar failures, shared by every replica.

:meth:`SqlBehaviorRows.record_failure` is the one write on the hot path: under a per-scorer lock (a
PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE`` already serializes writers) it re-reads the
behaviors the failure may join, lets the caller's :data:`BehaviorChooser` pick one, and joins it or inserts
a new behavior. Two replicas seeing the same new failure at once therefore end with one behavior, not two.
Which behavior a failure belongs to is the behaviors layer's decision
(:mod:`evaluator_service.behaviors.matching`); this module only keeps the rows: member count and members
per time bucket, the centroid as the mean of the members' vectors, the latest examples, the name and where
it came from, the services and agents touched.

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
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from evaluator_service.state import schema
from evaluator_service.state.behavior_event_rows import append_event
from evaluator_service.state.behavior_placements import (
    Placement,
    PlacementKey,
    forget_placements,
    placed_before,
    remember_placement,
)
from evaluator_service.state.behavior_records import (
    DISMISSED,
    EVENT_CREATED,
    EVENT_REGRESSED,
    KIND_FAILURE,
    MAX_EXAMPLES,
    MERGED,
    NAME_AUTO,
    NAME_OPERATOR,
    NAME_PROVISIONAL,
    OPEN,
    STATE_NEW,
    STATE_REGRESSED,
    STATE_RESOLVED,
    BehaviorExample,
    StoredBehavior,
    behavior_from_row,
    behavior_row,
    dump_vector,
    issue_row,
    issue_update,
    members_update,
    touched,
)
from evaluator_service.state.sample_reservoir import DEFAULT_SAMPLE_CAPACITY
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
    "running_mean",
]

BUCKET_S = 300
"""Width in seconds of the member-count buckets the trend and the usual rate are computed from."""
MAX_MERGE_HOPS = 8
"""Merges followed from a chosen behavior to the one that now takes its members."""


@dataclass(frozen=True, slots=True)
class FailureDraft:
    """A failing score (or scoring error, or input) to place: its scorer, vector (in ``space``), example,
    provisional name, and what it touches. ``at`` is the time it happened (now when ``None``)."""

    scorer: str
    space: str
    vector: list[float]
    example: BehaviorExample
    provisional_name: str
    kind: str = KIND_FAILURE
    description: str = ""
    service: str = ""
    agent: str = ""
    agents: tuple[str, ...] = ()
    """Further agents it touched after ``agent`` (a trajectory's: the agents seen across a session)."""
    environment: str = ""
    at: float | None = None
    sample_capacity: int = DEFAULT_SAMPLE_CAPACITY
    """Members kept per behavior in its random sample (what the re-clustering pass splits from; 0: none)."""


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

    async def rename_behavior(self, behavior_id: str, name: str, source: str) -> StoredBehavior | None:
        """Set the name (an operator's name is never replaced by a generated one); ``None`` if gone."""
        ...


def scorer_lock(scorer: str) -> str:
    """The lock key serializing writes to the behaviors of ``scorer``."""
    return f"judgeval-behaviors:{scorer}"


def bucket_of(at: float) -> int:
    """The member-count bucket of time ``at``."""
    return int(at // BUCKET_S)


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
                return Placement(await _taker(tx, placed), earlier.created, replayed=True)
            match = await _chosen(tx, draft, choose, candidate_id)
            if match is not None:
                joined = await _join(tx, await _taker(tx, match), draft, now)
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


async def read_behavior(tx: Transaction, behavior_id: str) -> StoredBehavior | None:
    """One behavior read inside ``tx``, or ``None``."""
    rows = await tx.execute(schema.SELECT_BEHAVIOR, (behavior_id,))
    return behavior_from_row(rows[0]) if rows else None


async def sample_member(tx: Transaction, behavior_id: str, member_count: int, draft: FailureDraft,
                        at: float) -> None:
    """Keep ``draft`` in the behavior's member sample, a reservoir (Vitter's algorithm R) of at most
    ``draft.sample_capacity`` members: the n-th member takes a random slot with probability capacity/n, so
    the sample stays uniform over all members at one write (at most) per failure."""
    capacity = draft.sample_capacity
    slot = member_count - 1 if member_count <= capacity else random.randrange(member_count)
    if capacity <= 0 or slot >= capacity or not draft.vector:
        return
    e = draft.example
    await tx.execute(schema.UPSERT_BEHAVIOR_SAMPLE, (behavior_id, slot, e.trace_id, e.span_id, at,
                                                     e.reason[:600], e.text[:600], dump_vector(e.vector or
                                                                                               draft.vector)))


def running_mean(centroid: Sequence[float], count: int, vec: Sequence[float]) -> list[float]:
    """The mean of ``count`` vectors whose mean was ``centroid``, after adding ``vec`` (a stored centroid
    is the mean of its members' vectors)."""
    return [(c * count + v) / (count + 1) for c, v in zip(centroid, vec, strict=True)]


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


async def _taker(tx: Transaction, chosen: StoredBehavior) -> StoredBehavior:
    """The behavior that takes ``chosen``'s new members: itself, or where an operator merged it (another
    scorer's behavior is locked too before it is written)."""
    current = chosen
    for _ in range(MAX_MERGE_HOPS):
        if current.disposition != MERGED or not current.merged_into:
            return current
        target = await read_behavior(tx, current.merged_into)
        if target is None:
            return current
        if target.scorer != chosen.scorer:
            await tx.lock(scorer_lock(target.scorer))
            target = await read_behavior(tx, target.id) or target
        current = target
    return current


async def _join(tx: Transaction, current: StoredBehavior, draft: FailureDraft, now: float) -> StoredBehavior:
    """Add ``draft`` to ``current``; a resolved behavior regresses (with an event unless an operator said it
    is expected)."""
    same_space = len(current.centroid) == len(draft.vector)
    joined = dataclasses.replace(
        current,
        centroid=running_mean(current.centroid, current.member_count, draft.vector) if same_space
        else current.centroid,
        member_count=current.member_count + 1, last_seen=max(now, current.last_seen),
        examples=(*current.examples, draft.example)[-MAX_EXAMPLES:],
        scorers=touched(current.scorers, [draft.scorer]), services=touched(current.services, [draft.service]),
        agents=touched(current.agents, [draft.agent, *draft.agents]),
        environments=touched(current.environments, [draft.environment]),
    )
    regressed = current.state == STATE_RESOLVED and current.disposition != DISMISSED
    if regressed:
        joined = dataclasses.replace(joined, state=STATE_REGRESSED, state_since=now)
    await tx.execute(schema.UPDATE_BEHAVIOR_MEMBERS, members_update(joined))
    await tx.execute(schema.ADD_BEHAVIOR_MEMBERS, (joined.id, bucket_of(now), 1))
    await sample_member(tx, joined.id, joined.member_count, draft, now)
    if joined != dataclasses.replace(joined, scorers=current.scorers, services=current.services,
                                     agents=current.agents, environments=current.environments,
                                     state=current.state, state_since=current.state_since):
        await tx.execute(schema.UPDATE_BEHAVIOR_ISSUE, issue_update(joined))
    if regressed and joined.disposition == OPEN:
        await append_event(tx, EVENT_REGRESSED, joined, now)
        await tx.execute(schema.BUMP_COUNTER)
    return joined
