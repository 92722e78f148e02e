"""Per-replica pass/fail counting per scorer, flushed into the shared buckets
(:mod:`evaluator_service.state.scorer_outcome_counts`) by the calibration monitor.

A score observer (:data:`evaluator_service.dispatcher.ScoreObserver`): no I/O, no queue, nothing to drop;
memory is one small counter per scorer per bucket between two flushes. Scoring errors are not counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.state.scorer_outcome_counts import ScorerCountRow

BUCKET_S = 60


class ScorerOutcomeCounter:
    """Counts each scored result's pass/fail by scorer in minute buckets until :meth:`take_rows`."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._pending: dict[tuple[str, int], list[int]] = {}

    def __call__(self, span: Span, results: Sequence[ScoreResult], resource_envelope: bytes) -> None:
        for result in results:
            if result.outcome is not None and result.passed is not None:
                self.count(result.scorer_name, failed=not result.passed)

    def count(self, scorer: str, *, failed: bool, at: float | None = None) -> None:
        """Count one score of ``scorer``."""
        bucket = bucket_of(self._clock() if at is None else at)
        cell = self._pending.setdefault((scorer, bucket), [0, 0])
        cell[0] += 1
        cell[1] += failed

    def take_rows(self) -> list[ScorerCountRow]:
        """The pending counts as shared rows, clearing them."""
        rows = [ScorerCountRow(scorer, bucket, scores, failures)
                for (scorer, bucket), (scores, failures) in sorted(self._pending.items())]
        self._pending = {}
        return rows

    def restore(self, rows: Sequence[ScorerCountRow]) -> None:
        """Put back rows a failed flush could not write (an outage delays counts, never loses them)."""
        for row in rows:
            cell = self._pending.setdefault((row.scorer, row.bucket), [0, 0])
            cell[0] += row.scores
            cell[1] += row.failures


def bucket_of(at: float) -> int:
    return math.floor(at / BUCKET_S) * BUCKET_S
