"""Behaviors as issues: the lifecycle pass and the operators' decisions, over the shared state.

:meth:`SqlBehaviorIssueRows.apply_lifecycle` offers every live behavior, with its member counts per bucket,
to the behaviors layer's :data:`LifecycleDecider` (the rules live in
:mod:`evaluator_service.behaviors.lifecycle`) and writes what it decides, each behavior in its own
transaction under its scorer's lock, with the lifecycle event in the same transaction. Replicas may run
the pass at the same time: the second re-reads the behavior under the lock, finds the transition made, and
the decider asks for nothing more.

Operators' decisions (dismiss, expect, reopen, merge, split off) are stored on the behavior, so later
automatic changes respect them: a dismissed behavior gets no lifecycle, an expected one raises no events,
a merged one hands its new members to the behavior it was merged into, a split-off one keeps its own
centroid so the members like it keep joining it. An operator's merge or split also pins the behaviors it
kept (``judgeval_behavior_pins``), so the re-clustering pass never splits them.
"""

from __future__ import annotations

import dataclasses
import math
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from evaluator_service.errors import EvaluatorError
from evaluator_service.state import schema
from evaluator_service.state.behavior_event_rows import append_event
from evaluator_service.state.behavior_members import bucket_of, read_behavior, scorer_lock
from evaluator_service.state.behavior_placements import move_placements
from evaluator_service.state.behavior_records import (
    DISMISSED,
    EXPECTED,
    MAX_EXAMPLES,
    MERGED,
    NAME_OPERATOR,
    NAME_PROVISIONAL,
    OPEN,
    SEVERITIES,
    STATE_NEW,
    StoredBehavior,
    behavior_from_row,
    behavior_row,
    issue_row,
    issue_update,
    members_update,
    touched,
)
from evaluator_service.state.sample_reservoir import (
    DEFAULT_SAMPLE_CAPACITY,
    merged_sample,
    read_samples,
    write_samples,
)
from evaluator_service.state.transaction import Transaction, TransactionSource

BucketCounts = dict[int, int]
"""Members per bucket (``bucket_of(t)``), of one behavior."""


@dataclass(frozen=True, slots=True)
class LifecycleChange:
    """What the lifecycle rules want a behavior to become; ``event`` is the kind to log, if any."""

    state: str
    severity: str
    event: str | None = None


LifecycleDecider = Callable[[StoredBehavior, BucketCounts, float], LifecycleChange | None]
"""Given a behavior, its member counts from the decider's window on, and now: the change to make, or
``None``. Called inside the behavior's transaction."""


class BehaviorActionRefused(EvaluatorError):
    """An operator's action that cannot apply (unknown ids, merging a behavior into itself, ...); the
    message says why and what would work."""


class BehaviorIssueState(Protocol):
    """The lifecycle and operator-decision part of the shared state."""

    async def apply_lifecycle(self, decide: LifecycleDecider, now: float, since_bucket: int
                              ) -> list[tuple[str | None, StoredBehavior]]:
        """Run ``decide`` over every live behavior; returns (event kind or ``None``, behavior after) for
        each behavior it changed. Buckets older than ``since_bucket`` are deleted."""
        ...

    async def behavior_buckets(self, since_bucket: int) -> dict[str, BucketCounts]:
        """Member counts per bucket from ``since_bucket`` on, by behavior id."""
        ...

    async def set_behavior_disposition(self, behavior_id: str, disposition: str) -> StoredBehavior | None:
        """Dismiss, mark as expected or reopen; ``None`` if gone. Refused for a merged behavior."""
        ...

    async def merge_behaviors(self, source_id: str, target_id: str, by_operator: bool = True,
                              sample_capacity: int = DEFAULT_SAMPLE_CAPACITY) -> StoredBehavior:
        """Fold ``source_id`` into ``target_id`` (members, buckets, evidence, member sample of at most
        ``sample_capacity``); returns the target after. An operator's merge (``by_operator``) pins the target:
        the automatic split leaves it as it is."""
        ...

    async def split_behavior(self, behavior_id: str, span_ids: Sequence[str], name: str, now: float
                             ) -> StoredBehavior:
        """Move the example members with ``span_ids`` into a new behavior (named ``name`` if given);
        returns the new behavior."""
        ...


class SqlBehaviorIssueRows(TransactionSource):
    """:class:`BehaviorIssueState` over the backend's transactions."""

    async def apply_lifecycle(self, decide: LifecycleDecider, now: float, since_bucket: int
                              ) -> list[tuple[str | None, StoredBehavior]]:
        async with self._transaction() as tx:
            await tx.execute(schema.PRUNE_BEHAVIOR_BUCKETS, (since_bucket,))
            ids = [str(row[0]) for row in await tx.execute(schema.SELECT_LIVE_BEHAVIOR_IDS, (MERGED,))]
        changed: list[tuple[str | None, StoredBehavior]] = []
        for behavior_id in ids:
            async with self._transaction() as tx:
                current = await _locked(tx, behavior_id)
                if current is None or current.disposition in (DISMISSED, MERGED):
                    continue
                rows = await tx.execute(schema.SELECT_BEHAVIOR_BUCKETS, (behavior_id, since_bucket))
                change = decide(current, {int(b): int(m) for b, m in rows}, now)
                if change is None or (change.state, change.severity) == (current.state, current.severity):
                    continue
                since = now if change.state != current.state else current.state_since
                updated = dataclasses.replace(current, state=change.state, state_since=since,
                                              severity=change.severity)
                await tx.execute(schema.UPDATE_BEHAVIOR_ISSUE, issue_update(updated))
                event = change.event if current.disposition == OPEN else None
                if event is not None:
                    await append_event(tx, event, updated, now)
                    await tx.execute(schema.BUMP_COUNTER)
                changed.append((event, updated))
        return changed

    async def behavior_buckets(self, since_bucket: int) -> dict[str, BucketCounts]:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_ALL_BEHAVIOR_BUCKETS, (since_bucket,))
        counts: dict[str, BucketCounts] = {}
        for bid, bucket, members in rows:
            counts.setdefault(str(bid), {})[int(bucket)] = int(members)
        return counts

    async def set_behavior_disposition(self, behavior_id: str, disposition: str) -> StoredBehavior | None:
        if disposition not in (OPEN, DISMISSED, EXPECTED):
            raise BehaviorActionRefused(f"disposition must be one of open, dismissed, expected, not "
                                        f"{disposition!r}")
        async with self._transaction() as tx:
            current = await _locked(tx, behavior_id)
            if current is None:
                return None
            if current.disposition == MERGED:
                raise BehaviorActionRefused(f"behavior {behavior_id} was merged into {current.merged_into}; "
                                            "act on that one")
            updated = dataclasses.replace(current, disposition=disposition)
            await tx.execute(schema.UPDATE_BEHAVIOR_ISSUE, issue_update(updated))
            await tx.execute(schema.BUMP_COUNTER)
            return updated

    async def merge_behaviors(self, source_id: str, target_id: str, by_operator: bool = True,
                              sample_capacity: int = DEFAULT_SAMPLE_CAPACITY) -> StoredBehavior:
        if source_id == target_id:
            raise BehaviorActionRefused("cannot merge a behavior into itself")
        async with self._transaction() as tx:
            source, target = await _pair(tx, source_id, target_id)
            merged = _merged(source, target)
            await tx.execute(schema.UPDATE_BEHAVIOR_MEMBERS, members_update(merged))
            await tx.execute(schema.UPDATE_BEHAVIOR_ISSUE, issue_update(merged))
            for bucket, members in await tx.execute(schema.SELECT_EVERY_BEHAVIOR_BUCKET, (source.id,)):
                await tx.execute(schema.ADD_BEHAVIOR_MEMBERS, (target.id, int(bucket), int(members)))
            sample = merged_sample(await read_samples(tx, target.id), target.member_count,
                                   await read_samples(tx, source.id), source.member_count, sample_capacity)
            await write_samples(tx, target.id, sample)
            await write_samples(tx, source.id, [])
            gone = dataclasses.replace(source, disposition=MERGED, merged_into=target.id)
            await tx.execute(schema.UPDATE_BEHAVIOR_ISSUE, issue_update(gone))
            if by_operator:
                await tx.execute(schema.PIN_BEHAVIOR, (target.id, "merged", time.time()))
            await tx.execute(schema.BUMP_COUNTER)
            return merged

    async def split_behavior(self, behavior_id: str, span_ids: Sequence[str], name: str, now: float
                             ) -> StoredBehavior:
        async with self._transaction() as tx:
            parent = await _locked(tx, behavior_id)
            if parent is None:
                raise BehaviorActionRefused(f"no behavior {behavior_id!r}")
            chosen = [e for e in parent.examples if e.span_id in set(span_ids)]
            _check_split(parent, span_ids, chosen)
            k, n = len(chosen), parent.member_count
            moved_sum = [sum(col) for col in zip(*(e.vector for e in chosen), strict=True)]
            rest = dataclasses.replace(
                parent, member_count=n - k, examples=tuple(e for e in parent.examples if e not in chosen),
                centroid=[(c * n - s) / (n - k) for c, s in zip(parent.centroid, moved_sum, strict=True)],
            )
            child = dataclasses.replace(
                parent, id=f"bhv_{uuid.uuid4().hex[:12]}", name=name or f"split from {parent.name}",
                name_source=NAME_OPERATOR if name else NAME_PROVISIONAL, centroid=[s / k for s in moved_sum],
                member_count=k, first_seen=now, last_seen=now, examples=tuple(chosen), state=STATE_NEW,
                state_since=now, disposition=OPEN, merged_into=None,
            )
            await tx.execute(schema.UPDATE_BEHAVIOR_MEMBERS, members_update(rest))
            await tx.execute(schema.INSERT_BEHAVIOR, behavior_row(child))
            await tx.execute(schema.INSERT_BEHAVIOR_ISSUE, issue_row(child))
            await tx.execute(schema.ADD_BEHAVIOR_MEMBERS, (child.id, bucket_of(now), k))
            await follow_split(tx, rest, child)
            await move_placements(tx, rest.id, child.id, ((e.trace_id, e.span_id) for e in chosen))
            for pinned in (rest.id, child.id):
                await tx.execute(schema.PIN_BEHAVIOR, (pinned, "split", now))
            await tx.execute(schema.BUMP_COUNTER)
            return child


async def follow_split(tx: Transaction, parent: StoredBehavior, child: StoredBehavior) -> None:
    """Behaviors merged into ``parent`` that are nearer the split-off ``child`` now pass their members to
    it: the later decision (the split) wins over the earlier one (the merge) for what it moved."""
    for row in await tx.execute(schema.SELECT_BEHAVIORS_MERGED_INTO, (parent.id,)):
        merged = behavior_from_row(row)
        if _cosine(merged.centroid, child.centroid) > _cosine(merged.centroid, parent.centroid):
            redirected = dataclasses.replace(merged, merged_into=child.id)
            await tx.execute(schema.UPDATE_BEHAVIOR_ISSUE, issue_update(redirected))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


async def _locked(tx: Transaction, behavior_id: str) -> StoredBehavior | None:
    """``behavior_id`` re-read under its scorer's lock (the lock the hot path takes), or ``None``."""
    first = await read_behavior(tx, behavior_id)
    if first is None:
        return None
    await tx.lock(scorer_lock(first.scorer))
    return await read_behavior(tx, behavior_id)


async def _pair(tx: Transaction, source_id: str, target_id: str) -> tuple[StoredBehavior, StoredBehavior]:
    """Both behaviors of a merge, read under their scorers' locks (taken in name order: no deadlock between
    two merges)."""
    found = {b.id: b for b in [await read_behavior(tx, source_id), await read_behavior(tx, target_id)] if b}
    missing = [bid for bid in (source_id, target_id) if bid not in found]
    if missing:
        raise BehaviorActionRefused(f"no behavior {missing[0]!r}; `judgeval behaviors list` shows the ids")
    for scorer in sorted({b.scorer for b in found.values()}):
        await tx.lock(scorer_lock(scorer))
    source, target = await read_behavior(tx, source_id), await read_behavior(tx, target_id)
    assert source is not None and target is not None  # locked rows are never deleted
    for b in (source, target):
        if b.disposition == MERGED:
            raise BehaviorActionRefused(f"behavior {b.id} was already merged into {b.merged_into}")
    if source.space != target.space or source.kind != target.kind:
        raise BehaviorActionRefused(f"cannot merge a {source.kind} behavior grouped in {source.space} into a "
                                    f"{target.kind} behavior grouped in {target.space}")
    return source, target


def _merged(source: StoredBehavior, target: StoredBehavior) -> StoredBehavior:
    total = source.member_count + target.member_count
    centroid = [(s * source.member_count + t * target.member_count) / total
                for s, t in zip(source.centroid, target.centroid, strict=True)]
    examples = sorted((*target.examples, *source.examples), key=lambda e: e in source.examples)
    return dataclasses.replace(
        target, centroid=centroid, member_count=total, first_seen=min(source.first_seen, target.first_seen),
        last_seen=max(source.last_seen, target.last_seen), examples=tuple(examples[-MAX_EXAMPLES:]),
        severity=max(source.severity, target.severity, key=_severity_rank),
        scorers=touched(target.scorers, source.scorers), services=touched(target.services, source.services),
        agents=touched(target.agents, source.agents),
        environments=touched(target.environments, source.environments),
    )


def _check_split(parent: StoredBehavior, span_ids: Iterable[str], chosen: Sequence[object]) -> None:
    wanted = set(span_ids)
    known = [e.span_id for e in parent.examples]
    if parent.disposition == MERGED:
        raise BehaviorActionRefused(f"behavior {parent.id} was merged into {parent.merged_into}")
    if not wanted or len(chosen) != len(wanted):
        unknown = sorted(wanted - set(known)) or ["(none given)"]
        raise BehaviorActionRefused(f"span ids {', '.join(unknown)} are not example members of {parent.id}; "
                                    f"its examples are: {', '.join(known)}")
    if len(chosen) >= parent.member_count:
        raise BehaviorActionRefused(f"splitting off all {parent.member_count} members would leave "
                                    f"{parent.id} empty; rename it instead")
    if any(not e.vector or len(e.vector) != len(parent.centroid) for e in parent.examples
           if e.span_id in wanted):
        raise BehaviorActionRefused("these examples were recorded before split-off was supported "
                                    "(no vectors kept); choose newer examples")


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0
