"""Which span each behavior member came from, so a span scored twice is counted once.

A span can be scored again after it was placed in a behavior: the evaluator was killed between the
placement and storing the enriched span (the durable queue still holds it and scores it after restart), or
a collector re-sent an export whose answer it lost, to this or another replica. Every placement therefore
writes its *placement key* — (kind, scorer, trace id, span id) — with the behavior it joined, in the
transaction that counts the member
(:meth:`~evaluator_service.state.behavior_rows.SqlBehaviorRows.record_failure`, under the scorer's lock). A
later placement of the same key finds it and writes nothing: member counts, trend buckets, evidence, the
member sample and lifecycle events count the member once, on every replica sharing the database, across
restarts. The span still gets the behavior it was placed in (followed through merges; a split moves the keys
of the members it moves by span id).

Keys are kept ``behaviors.replay_memory_s`` (a day by default; pruned by the lifecycle pass), long enough
for a restart or a collector's retries. A member without span ids (none to tell copies apart by) gets no
key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from evaluator_service.state.behavior_records import StoredBehavior
from evaluator_service.state.transaction import Transaction

TABLES = (
    # Placement keys (state/behavior_placements.py): one row per placed (kind, scorer, trace, span).
    """CREATE TABLE IF NOT EXISTS judgeval_behavior_placements (
        kind TEXT NOT NULL,
        scorer TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        behavior_id TEXT NOT NULL,
        created INTEGER NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (kind, scorer, trace_id, span_id)
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_behavior_placements_by_time ON judgeval_behavior_placements (at)",
)

SELECT_PLACEMENT = """SELECT behavior_id, created FROM judgeval_behavior_placements
    WHERE kind = %s AND scorer = %s AND trace_id = %s AND span_id = %s"""
UPSERT_PLACEMENT = """INSERT INTO judgeval_behavior_placements (kind, scorer, trace_id, span_id, behavior_id,
    created, at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (kind, scorer, trace_id, span_id)
    DO UPDATE SET behavior_id = excluded.behavior_id, created = excluded.created, at = excluded.at"""
DELETE_PLACEMENTS_BEFORE = "DELETE FROM judgeval_behavior_placements WHERE at < %s"
MOVE_PLACEMENT = """UPDATE judgeval_behavior_placements SET behavior_id = %s, created = 0
    WHERE behavior_id = %s AND trace_id = %s AND span_id = %s"""


class Placement(NamedTuple):
    """Where a failure was put: the behavior after the write, whether this failure created it, and whether
    it had been placed before (``replayed``: nothing was written, and ``created`` tells whether that earlier
    placement created the behavior)."""

    behavior: StoredBehavior
    created: bool
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class PlacementKey:
    """What identifies one member: a scorer's failure (or error, or input) ``kind`` on one span."""

    kind: str
    scorer: str
    trace_id: str
    span_id: str

    @property
    def usable(self) -> bool:
        """Whether copies of the span can be told apart by this key (both ids present)."""
        return bool(self.trace_id and self.span_id)


@dataclass(frozen=True, slots=True)
class EarlierPlacement:
    """Where a key was placed before, and whether that placement created the behavior."""

    behavior_id: str
    created: bool


async def placed_before(tx: Transaction, key: PlacementKey) -> EarlierPlacement | None:
    """The earlier placement of ``key`` still remembered, or ``None`` (always for an unusable key)."""
    if not key.usable:
        return None
    rows = await tx.execute(SELECT_PLACEMENT, (key.kind, key.scorer, key.trace_id, key.span_id))
    return EarlierPlacement(str(rows[0][0]), bool(rows[0][1])) if rows else None


async def remember_placement(tx: Transaction, key: PlacementKey, behavior_id: str, created: bool,
                             at: float) -> None:
    """Write ``key``'s placement inside the transaction that counted it (nothing for an unusable key)."""
    if key.usable:
        await tx.execute(UPSERT_PLACEMENT, (key.kind, key.scorer, key.trace_id, key.span_id, behavior_id,
                                            1 if created else 0, at))


async def move_placements(tx: Transaction, parent_id: str, child_id: str,
                          members: Iterable[tuple[str, str]]) -> None:
    """Members (trace id, span id) a split moved from ``parent_id`` to ``child_id``: a copy of one of them
    gets the behavior it is in now (not marked new: the split created that behavior)."""
    for trace_id, span_id in members:
        await tx.execute(MOVE_PLACEMENT, (child_id, parent_id, trace_id, span_id))


async def forget_placements(tx: Transaction, before: float) -> None:
    """Drop the keys placed before ``before`` (a copy arriving later is counted again)."""
    await tx.execute(DELETE_PLACEMENTS_BEFORE, (before,))
