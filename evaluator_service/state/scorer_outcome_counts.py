"""Passes and failures per scorer per bucket, summed over a trailing window: the observed failure rate
that judge calibration corrects (:mod:`evaluator_service.calibration`).

Replicas add their own counts to the same buckets, so every replica reads the fleet's rate. Errors (no
score) are not counted: a scorer that could not judge neither passed nor failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from evaluator_service.state import dataset_schema
from evaluator_service.state.transaction import TransactionSource


@dataclass(frozen=True, slots=True)
class ScorerCountRow:
    """Scores and failures of one scorer in the bucket starting at ``bucket`` (Unix seconds)."""

    scorer: str
    bucket: int
    scores: int
    failures: int


class ScorerOutcomeCountState(Protocol):
    """The outcome-count part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def add_scorer_counts(self, rows: Sequence[ScorerCountRow]) -> None:
        """Add per-bucket counts to the shared buckets."""
        ...

    async def scorer_counts(self, scorer: str, since_bucket: int) -> tuple[int, int]:
        """(scores, failures) of ``scorer`` in buckets from ``since_bucket`` on."""
        ...

    async def prune_scorer_counts(self, before_bucket: int) -> None:
        """Drop every bucket before ``before_bucket``."""
        ...


class SqlScorerOutcomeCounts(TransactionSource):
    """:class:`ScorerOutcomeCountState` over the backend's transactions."""

    async def add_scorer_counts(self, rows: Sequence[ScorerCountRow]) -> None:
        if not rows:
            return
        async with self._transaction() as tx:
            for r in rows:
                await tx.execute(dataset_schema.ADD_SCORER_OUTCOME_COUNTS,
                                 (r.scorer, r.bucket, r.scores, r.failures))

    async def scorer_counts(self, scorer: str, since_bucket: int) -> tuple[int, int]:
        async with self._transaction() as tx:
            rows = await tx.execute(dataset_schema.SELECT_SCORER_OUTCOME_COUNTS, (scorer, since_bucket))
        scores, failures = rows[0] if rows else (0, 0)
        return int(scores), int(failures)

    async def prune_scorer_counts(self, before_bucket: int) -> None:
        async with self._transaction() as tx:
            await tx.execute(dataset_schema.PRUNE_SCORER_OUTCOME_COUNTS, (before_bucket,))
