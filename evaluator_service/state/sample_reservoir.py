"""A behavior's member sample as rows: reading, writing, and the sample of two behaviors merged into one.

Each behavior keeps a reservoir of at most a capacity of members (``judgeval_behavior_samples``; filled by
:meth:`~evaluator_service.state.behavior_rows.SqlBehaviorRows.record_failure`, split along by
:mod:`~evaluator_service.state.behavior_samples`). When behaviors merge, :func:`merged_sample` keeps the
target's sample a fair sample of all its members: each side contributes in proportion to its member count.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evaluator_service.state import schema
from evaluator_service.state.behavior_records import BehaviorExample, dump_vector
from evaluator_service.state.transaction import Transaction

DEFAULT_SAMPLE_CAPACITY = 64
"""Members sampled per behavior unless configured (``behaviors.recluster_sample_size``)."""


@dataclass(frozen=True, slots=True)
class SampledMember:
    """One member in a behavior's sample."""

    trace_id: str
    span_id: str
    at: float
    reason: str
    text: str
    vector: tuple[float, ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.trace_id, self.span_id

    def as_example(self) -> BehaviorExample:
        return BehaviorExample(self.trace_id, self.span_id, self.text, reason=self.reason, vector=self.vector)


def merged_sample(target: Sequence[SampledMember], target_members: int, source: Sequence[SampledMember],
                  source_members: int, capacity: int, rng: random.Random | None = None
                  ) -> list[SampledMember]:
    """The sample of a behavior with ``target_members + source_members`` members, from the two samples:
    both whole when they fit in ``capacity``, else each side's random share in proportion to its members."""
    if len(target) + len(source) <= capacity:
        return [*target, *source]
    pick = rng or random.Random()
    total = max(1, target_members + source_members)
    target_share = min(len(target), round(capacity * target_members / total))
    from_source = min(len(source), max(0, capacity - target_share))
    from_target = min(len(target), capacity - from_source)
    return [*pick.sample(list(target), from_target), *pick.sample(list(source), from_source)]


async def read_samples(tx: Transaction, behavior_id: str) -> list[SampledMember]:
    rows = await tx.execute(schema.SELECT_BEHAVIOR_SAMPLES, (behavior_id,))
    return [_sample(row) for row in rows]


async def write_samples(tx: Transaction, behavior_id: str, members: Sequence[SampledMember]) -> None:
    """Replace ``behavior_id``'s sample with ``members`` in slots 0, 1, ... (none: delete it)."""
    await tx.execute(schema.DELETE_BEHAVIOR_SAMPLES, (behavior_id,))
    for slot, s in enumerate(members):
        await tx.execute(schema.UPSERT_BEHAVIOR_SAMPLE, (behavior_id, slot, s.trace_id, s.span_id, s.at,
                                                         s.reason, s.text, dump_vector(s.vector)))


def _sample(row: tuple[Any, ...]) -> SampledMember:
    _slot, trace_id, span_id, at, reason, text, vector = row
    return SampledMember(str(trace_id), str(span_id), float(at), str(reason), str(text),
                         tuple(float(v) for v in json.loads(vector)))
