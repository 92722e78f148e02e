"""A failure as a member of a behavior: the draft to place (:class:`FailureDraft`), and what adding it to a
stored behavior writes inside the placing transaction (:mod:`~evaluator_service.state.behavior_rows` decides
join or create, under :func:`scorer_lock`).

A join moves the centroid (the running mean of the members' vectors), adds one to the member count and to
the count of its time bucket (:data:`BUCKET_S`), keeps the latest examples, a uniform random sample of the
members (what re-clustering splits from) and the services, agents and environments touched. A member of a
resolved behavior makes it ``regressed`` (with a ``behavior.regressed`` event unless an operator dismissed
it), and a member chosen for a behavior an operator merged away joins the behavior it was merged into.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass

from evaluator_service.state import schema
from evaluator_service.state.behavior_event_rows import append_event
from evaluator_service.state.behavior_records import (
    DISMISSED,
    EVENT_REGRESSED,
    KIND_FAILURE,
    MAX_EXAMPLES,
    MERGED,
    OPEN,
    STATE_REGRESSED,
    STATE_RESOLVED,
    BehaviorExample,
    StoredBehavior,
    behavior_from_row,
    dump_vector,
    issue_update,
    members_update,
    touched,
)
from evaluator_service.state.sample_reservoir import DEFAULT_SAMPLE_CAPACITY
from evaluator_service.state.transaction import Transaction

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


def scorer_lock(scorer: str) -> str:
    """The lock key serializing writes to the behaviors of ``scorer``."""
    return f"judgeval-behaviors:{scorer}"


def bucket_of(at: float) -> int:
    """The member-count bucket of time ``at``."""
    return int(at // BUCKET_S)


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


async def taking_behavior(tx: Transaction, chosen: StoredBehavior) -> StoredBehavior:
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


async def join_behavior(tx: Transaction, current: StoredBehavior, draft: FailureDraft, now: float
                        ) -> StoredBehavior:
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
