"""Behaviors in the shared state: one row per group of similar failures, shared by every replica.

:class:`SqlBehaviorRows` is mixed into :class:`~evaluator_service.state.sql_state.SqlSharedState`, so both
backends get it. :meth:`SqlBehaviorRows.record_failure` is the one write on the hot path: under a
per-scorer lock (a PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE`` already serializes writers) it
re-reads that scorer's behaviors, joins the nearest one at or above the threshold, or inserts a new one.
Two replicas seeing the same new failure at once therefore end with one behavior, not two.

Only creations and renames bump the change counter: a join moves a centroid a little and adds one to a
count, which other replicas do not need to hear about within the second.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from evaluator_service.behaviors.vectors import Vector, nearest, running_mean
from evaluator_service.state import schema

if TYPE_CHECKING:  # sql_state imports this module for its mixin
    from evaluator_service.state.sql_state import Transaction

MAX_EXAMPLES = 5
"""Example trace/span ids kept per behavior (the most recent ones)."""

_COLUMNS = "id, scorer, space, name, name_source, centroid, member_count, first_seen, last_seen, examples"
SELECT_ALL = f"SELECT {_COLUMNS} FROM judgeval_behaviors ORDER BY member_count DESC, id"
SELECT_OF_SCORER = f"SELECT {_COLUMNS} FROM judgeval_behaviors WHERE scorer = %s AND space = %s"
SELECT_ONE = f"SELECT {_COLUMNS} FROM judgeval_behaviors WHERE id = %s"
INSERT = f"INSERT INTO judgeval_behaviors ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
UPDATE_MEMBERS = ("UPDATE judgeval_behaviors SET centroid = %s, member_count = %s, last_seen = %s, "
                  "examples = %s WHERE id = %s")
UPDATE_NAME = "UPDATE judgeval_behaviors SET name = %s, name_source = %s WHERE id = %s"
# The condition, not a prior SELECT, keeps an operator's concurrent rename from being overwritten.
UPDATE_GENERATED_NAME = UPDATE_NAME + " AND name_source <> 'operator'"

NAME_PROVISIONAL = "provisional"
NAME_AUTO = "auto"
NAME_OPERATOR = "operator"


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
    centroid: Vector
    member_count: int
    first_seen: float
    last_seen: float
    examples: tuple[BehaviorExample, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class FailureDraft:
    """A failing score to place: its scorer, vector (in ``space``), example and provisional name."""

    scorer: str
    space: str
    vector: Vector
    example: BehaviorExample
    provisional_name: str


class BehaviorState(Protocol):
    """The behavior part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def behaviors(self) -> list[StoredBehavior]:
        """Every behavior, most members first."""
        ...

    async def behavior(self, behavior_id: str) -> StoredBehavior | None:
        """One behavior, or ``None``."""
        ...

    async def record_failure(self, draft: FailureDraft, threshold: float, candidate_id: str | None = None
                             ) -> tuple[StoredBehavior, bool]:
        """Join ``candidate_id`` if it exists, else the nearest behavior of the draft's scorer at or above
        ``threshold``, else create one; returns the behavior and whether this call created it."""
        ...

    async def rename_behavior(self, behavior_id: str, name: str, source: str) -> StoredBehavior | None:
        """Set the name (an operator's name is never replaced by a generated one); ``None`` if gone."""
        ...


class SqlBehaviorRows:
    """Behavior operations over the backend's transactions (see ``SqlSharedState._transaction``)."""

    def _transaction(self) -> AbstractAsyncContextManager[Transaction]:
        raise NotImplementedError

    async def behaviors(self) -> list[StoredBehavior]:
        """Every behavior, most members first."""
        async with self._transaction() as tx:
            return [_behavior(row) for row in await tx.execute(SELECT_ALL)]

    async def behavior(self, behavior_id: str) -> StoredBehavior | None:
        """One behavior, or ``None``."""
        async with self._transaction() as tx:
            rows = await tx.execute(SELECT_ONE, (behavior_id,))
        return _behavior(rows[0]) if rows else None

    async def record_failure(self, draft: FailureDraft, threshold: float, candidate_id: str | None = None
                             ) -> tuple[StoredBehavior, bool]:
        """Join the nearest behavior of ``draft.scorer`` at or above ``threshold``, or create one.

        ``candidate_id`` is the caller's own nearest match (from its in-memory index): when it still exists
        it is joined without scanning. Returns the behavior after the write and whether this call created
        it."""
        async with self._transaction() as tx:
            await tx.lock(f"judgeval-behaviors:{draft.scorer}")
            match = await _matching(tx, draft, threshold, candidate_id)
            now = time.time()
            if match is not None:
                joined = _joined(match, draft, now)
                await tx.execute(UPDATE_MEMBERS, (_dump_vector(joined.centroid), joined.member_count, now,
                                                  _dump_examples(joined.examples), joined.id))
                return joined, False
            created = StoredBehavior(
                id=f"bhv_{uuid.uuid4().hex[:12]}", scorer=draft.scorer, space=draft.space,
                name=draft.provisional_name, name_source=NAME_PROVISIONAL, centroid=list(draft.vector),
                member_count=1, first_seen=now, last_seen=now, examples=(draft.example,),
            )
            await tx.execute(INSERT, _row(created))
            await tx.execute(schema.BUMP_COUNTER)
            return created, True

    async def rename_behavior(self, behavior_id: str, name: str, source: str) -> StoredBehavior | None:
        """Set the name; a generated name never replaces an operator's. ``None`` if the id is unknown."""
        async with self._transaction() as tx:
            rows = await tx.execute(SELECT_ONE, (behavior_id,))
            if not rows:
                return None
            current = _behavior(rows[0])
            if current.name_source == NAME_OPERATOR and source != NAME_OPERATOR:
                return current
            update = UPDATE_NAME if source == NAME_OPERATOR else UPDATE_GENERATED_NAME
            await tx.execute(update, (name, source, behavior_id))
            await tx.execute(schema.BUMP_COUNTER)
        return dataclasses.replace(current, name=name, name_source=source)


async def _matching(tx: Transaction, draft: FailureDraft, threshold: float, candidate_id: str | None
                    ) -> StoredBehavior | None:
    """The behavior ``draft`` joins: the caller's candidate if it still exists, else the nearest of the
    scorer's behaviors at or above ``threshold`` (re-checked here, under the lock), else ``None``."""
    if candidate_id:
        rows = await tx.execute(SELECT_ONE, (candidate_id,))
        candidate = _behavior(rows[0]) if rows else None
        if candidate is not None and len(candidate.centroid) == len(draft.vector):  # same model, same dims
            return candidate
    same = [_behavior(r) for r in await tx.execute(SELECT_OF_SCORER, (draft.scorer, draft.space))]
    best_id, similarity = nearest(draft.vector, [(b.id, b.centroid) for b in same])
    if best_id is None or similarity < threshold:
        return None
    return next(b for b in same if b.id == best_id)


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


def _dump_vector(vec: Vector) -> str:
    return json.dumps([round(v, 6) for v in vec])


def _dump_examples(examples: tuple[BehaviorExample, ...]) -> str:
    return json.dumps([{"trace_id": e.trace_id, "span_id": e.span_id, "text": e.text} for e in examples])
