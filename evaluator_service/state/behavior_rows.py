"""Behaviors in the shared state: one row per group of similar failures, shared by every replica.

:meth:`SqlBehaviorRows.record_failure` is the one write on the hot path: under a per-scorer lock (a
PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE`` already serializes writers) it re-reads the
behaviors the failure may join, lets the caller's :data:`BehaviorChooser` pick one, and joins it or inserts
a new behavior. Two replicas seeing the same new failure at once therefore end with one behavior, not two.
Which behavior a failure belongs to is the behaviors layer's decision
(:mod:`evaluator_service.behaviors.matching`); this module only keeps the rows: member count, the centroid
as the mean of the members' vectors, the latest examples, the name and where it came from.

Only creations and renames bump the change counter: a join moves a centroid a little and adds one to a
count, which other replicas do not need to hear about within the second.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evaluator_service.state import schema
from evaluator_service.state.transaction import Transaction, TransactionSource

MAX_EXAMPLES = 5
"""Example trace/span ids kept per behavior (the most recent ones)."""

NAME_PROVISIONAL = "provisional"
"""Name source of a new behavior's salient-terms name."""
NAME_AUTO = "auto"
"""Name source of a name a chat model gave."""
NAME_OPERATOR = "operator"
"""Name source of an operator's rename; never replaced by a generated name."""


@dataclass(frozen=True, slots=True)
class BehaviorExample:
    """One failing span of a behavior."""

    trace_id: str
    span_id: str
    text: str


@dataclass(frozen=True, slots=True)
class StoredBehavior:
    """One behavior as stored: ``name_source`` is provisional (top terms), auto (a model) or operator."""

    id: str
    scorer: str
    space: str
    name: str
    name_source: str
    centroid: list[float]
    member_count: int
    first_seen: float
    last_seen: float
    examples: tuple[BehaviorExample, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class FailureDraft:
    """A failing score to place: its scorer, vector (in ``space``), example and provisional name."""

    scorer: str
    space: str
    vector: list[float]
    example: BehaviorExample
    provisional_name: str


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
                             candidate_id: str | None = None) -> tuple[StoredBehavior, bool]:
        """Join the behavior ``choose`` picks, or create one; returns the behavior after the write and
        whether this call created it.

        ``candidate_id`` is the caller's likely match (from its in-memory index): it is offered to
        ``choose`` alone first, so a hit reads one row; if it is gone or declined, every behavior of the
        draft's scorer and space is offered."""
        ...

    async def rename_behavior(self, behavior_id: str, name: str, source: str) -> StoredBehavior | None:
        """Set the name (an operator's name is never replaced by a generated one); ``None`` if gone."""
        ...


class SqlBehaviorRows(TransactionSource):
    """:class:`BehaviorState` over the backend's transactions."""

    async def behaviors(self) -> list[StoredBehavior]:
        async with self._transaction() as tx:
            return [_behavior(row) for row in await tx.execute(schema.SELECT_BEHAVIORS)]

    async def behavior(self, behavior_id: str) -> StoredBehavior | None:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_BEHAVIOR, (behavior_id,))
        return _behavior(rows[0]) if rows else None

    async def record_failure(self, draft: FailureDraft, choose: BehaviorChooser,
                             candidate_id: str | None = None) -> tuple[StoredBehavior, bool]:
        async with self._transaction() as tx:
            await tx.lock(f"judgeval-behaviors:{draft.scorer}")
            match = await _chosen(tx, draft, choose, candidate_id)
            now = time.time()
            if match is not None:
                joined = _joined(match, draft, now)
                await tx.execute(schema.UPDATE_BEHAVIOR_MEMBERS, (
                    _dump_vector(joined.centroid), joined.member_count, now, _dump_examples(joined.examples),
                    joined.id,
                ))
                return joined, False
            created = StoredBehavior(
                id=f"bhv_{uuid.uuid4().hex[:12]}", scorer=draft.scorer, space=draft.space,
                name=draft.provisional_name, name_source=NAME_PROVISIONAL, centroid=list(draft.vector),
                member_count=1, first_seen=now, last_seen=now, examples=(draft.example,),
            )
            await tx.execute(schema.INSERT_BEHAVIOR, _row(created))
            await tx.execute(schema.BUMP_COUNTER)
            return created, True

    async def rename_behavior(self, behavior_id: str, name: str, source: str) -> StoredBehavior | None:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_BEHAVIOR, (behavior_id,))
            if not rows:
                return None
            current = _behavior(rows[0])
            if current.name_source == NAME_OPERATOR and source != NAME_OPERATOR:
                return current
            if source == NAME_OPERATOR:
                await tx.execute(schema.UPDATE_BEHAVIOR_NAME, (name, source, behavior_id))
            else:
                await tx.execute(schema.UPDATE_GENERATED_BEHAVIOR_NAME,
                                 (name, source, behavior_id, NAME_OPERATOR))
            await tx.execute(schema.BUMP_COUNTER)
        return dataclasses.replace(current, name=name, name_source=source)


def running_mean(centroid: Sequence[float], count: int, vec: Sequence[float]) -> list[float]:
    """The mean of ``count`` vectors whose mean was ``centroid``, after adding ``vec`` (a stored centroid
    is the mean of its members' vectors)."""
    return [(c * count + v) / (count + 1) for c, v in zip(centroid, vec, strict=True)]


async def _chosen(tx: Transaction, draft: FailureDraft, choose: BehaviorChooser, candidate_id: str | None
                  ) -> StoredBehavior | None:
    """The behavior ``draft`` joins: the caller's candidate if it still exists and ``choose`` takes it,
    else what ``choose`` picks among the scorer's behaviors in the draft's space, else ``None``."""
    if candidate_id:
        rows = await tx.execute(schema.SELECT_BEHAVIOR, (candidate_id,))
        offered = [b for b in map(_behavior, rows) if (b.scorer, b.space) == (draft.scorer, draft.space)]
        if offered and choose(draft, offered) is not None:
            return offered[0]
    rows = await tx.execute(schema.SELECT_BEHAVIORS_OF_SCORER, (draft.scorer, draft.space))
    return choose(draft, [_behavior(row) for row in rows])


def _joined(current: StoredBehavior, draft: FailureDraft, now: float) -> StoredBehavior:
    examples = (*current.examples, draft.example)[-MAX_EXAMPLES:]
    return dataclasses.replace(
        current, centroid=running_mean(current.centroid, current.member_count, draft.vector),
        member_count=current.member_count + 1, last_seen=now, examples=examples,
    )


def _row(b: StoredBehavior) -> tuple[Any, ...]:
    return (b.id, b.scorer, b.space, b.name, b.name_source, _dump_vector(b.centroid), b.member_count,
            b.first_seen, b.last_seen, _dump_examples(b.examples))


def _behavior(row: tuple[Any, ...]) -> StoredBehavior:
    bid, scorer, space, name, source, centroid, count, first, last, examples = row
    return StoredBehavior(
        id=str(bid), scorer=str(scorer), space=str(space), name=str(name), name_source=str(source),
        centroid=[float(v) for v in json.loads(centroid)], member_count=int(count), first_seen=float(first),
        last_seen=float(last), examples=tuple(BehaviorExample(**e) for e in json.loads(examples)),
    )


def _dump_vector(vec: list[float]) -> str:
    return json.dumps([round(v, 6) for v in vec])


def _dump_examples(examples: tuple[BehaviorExample, ...]) -> str:
    return json.dumps([{"trace_id": e.trace_id, "span_id": e.span_id, "text": e.text} for e in examples])
