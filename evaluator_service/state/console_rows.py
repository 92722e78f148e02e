"""What the console reads, written by every replica: score rollups, failing interactions, not-evaluated spans.

Aggregates are counters kept as the evaluator scores (see :mod:`evaluator_service.console.recorder`), never
computed by scanning spans. A replica adds its deltas with additive upserts (``value = value + excluded``),
so several replicas on one PostgreSQL database add to the same rows; rows are written in key order, so two
replicas' transactions never wait on each other in a cycle. Each delta is written at two granularities
(minute and hour rows) in the same transaction; the minute rows are pruned sooner.

The failing-interaction list and the not-evaluated samples are bounded by age and by count
(:class:`ConsoleRetention`); a span scored again (scoring is at-least-once) replaces its row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.state import console_schema
from evaluator_service.state.transaction import TransactionSource

HISTOGRAM_BINS = 10
"""Scores in [0, 1] fall in ten equal bins (1.0 in the last); scores outside count as below or above."""


def histogram_slot(value: float) -> int:
    """The index of ``value`` in :attr:`RollupSums.histogram`: 0 below 0, 1..10 the bins, 11 above 1."""
    if value < 0:
        return 0
    if value > 1:
        return HISTOGRAM_BINS + 1
    return 1 + min(int(value * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)


@dataclass(frozen=True, slots=True, order=True)
class RollupKey:
    """One rollup row: a time bucket (start, Unix seconds) of ``granularity`` seconds, and what scored."""

    granularity: int
    bucket: int
    scorer: str
    agent: str
    service: str
    environment: str


@dataclass(slots=True)
class RollupSums:
    """Counters of one rollup row (or of several added together)."""

    scores: int = 0
    """Results with a score (passes + failures)."""
    passes: int = 0
    failures: int = 0
    errors: int = 0
    """Results without a score (scoring errors, never counted as failures)."""
    value_sum: float = 0.0
    histogram: list[int] = field(default_factory=lambda: [0] * (HISTOGRAM_BINS + 2))
    """Below 0, the ten bins of [0, 1], above 1 (see :func:`histogram_slot`)."""
    latency_sum: float = 0.0
    latency_count: int = 0
    cost_sum: float = 0.0
    cost_count: int = 0

    def add(self, other: RollupSums) -> None:
        self.scores += other.scores
        self.passes += other.passes
        self.failures += other.failures
        self.errors += other.errors
        self.value_sum += other.value_sum
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram, strict=True)]
        self.latency_sum += other.latency_sum
        self.latency_count += other.latency_count
        self.cost_sum += other.cost_sum
        self.cost_count += other.cost_count

    def add_record(self, record: InteractionRecord) -> None:
        """Count one result."""
        if record.score is None:
            self.errors += 1
        else:
            self.scores += 1
            self.value_sum += record.score
            self.histogram[histogram_slot(record.score)] += 1
            if record.passed:
                self.passes += 1
            else:
                self.failures += 1
        if record.latency_s is not None:
            self.latency_sum += record.latency_s
            self.latency_count += 1
        if record.cost_usd is not None:
            self.cost_sum += record.cost_usd
            self.cost_count += 1

    def as_row(self) -> tuple[float, ...]:
        """The values in :data:`console_schema.ROLLUP_SUMS` order."""
        return (self.scores, self.passes, self.failures, self.errors, self.value_sum, *self.histogram,
                self.latency_sum, self.latency_count, self.cost_sum, self.cost_count)

    @classmethod
    def from_row(cls, values: Sequence[Any]) -> RollupSums:
        """The inverse of :meth:`as_row` (SQL ``SUM`` results; ``NULL`` is 0)."""
        v = [0 if x is None else x for x in values]
        n = HISTOGRAM_BINS + 2
        return cls(int(v[0]), int(v[1]), int(v[2]), int(v[3]), float(v[4]), [int(x) for x in v[5:5 + n]],
                   float(v[5 + n]), int(v[6 + n]), float(v[7 + n]), int(v[8 + n]))


@dataclass(frozen=True, slots=True, order=True)
class NotEvaluatedKey:
    """One not-evaluated counter row."""

    granularity: int
    bucket: int
    reason: str
    scorer: str
    service: str


@dataclass(frozen=True, slots=True)
class NotEvaluatedSample:
    """One span (and scorer) that asked for a score and got none, and why."""

    trace_id: str
    span_id: str
    scorer: str
    reason: str
    """``paused``, ``unknown_scorer``, ``timeout``, ``limit``, ``invalid_request``, ... (see
    :mod:`evaluator_service.console.reasons`)."""
    at: float
    detail: str = ""
    service: str = ""
    agent: str = ""

    @property
    def id(self) -> str:
        return f"{self.trace_id}:{self.span_id}:{self.scorer}"


@dataclass(frozen=True)
class ConsoleWrites:
    """One replica's deltas since its last flush."""

    rollups: dict[RollupKey, RollupSums] = field(default_factory=dict)
    failing: Sequence[InteractionRecord] = ()
    not_evaluated: dict[NotEvaluatedKey, int] = field(default_factory=dict)
    samples: Sequence[NotEvaluatedSample] = ()


@dataclass(frozen=True)
class ConsoleRetention:
    """What :meth:`ConsoleRowState.prune_console_data` removes: rows of each granularity older than its
    bound, failing interactions and not-evaluated samples older than their bound or beyond their count."""

    before_by_granularity: dict[int, int]
    failing_before: float
    failing_keep: int
    samples_before: float
    samples_keep: int


class ConsoleRowState(Protocol):
    """The console's writes."""

    async def write_console_data(self, writes: ConsoleWrites) -> None:
        """Add the rollup and not-evaluated deltas, store the failing interactions and samples (one
        transaction)."""
        ...

    async def prune_console_data(self, retention: ConsoleRetention) -> None:
        ...


class SqlConsoleRows(TransactionSource):
    """:class:`ConsoleRowState` over the backend's transactions."""

    async def write_console_data(self, writes: ConsoleWrites) -> None:
        rollups = [(key.granularity, key.bucket, key.scorer, key.agent, key.service, key.environment,
                    *writes.rollups[key].as_row()) for key in sorted(writes.rollups)]
        counts = [(k.granularity, k.bucket, k.reason, k.scorer, k.service, writes.not_evaluated[k])
                  for k in sorted(writes.not_evaluated)]
        # One row per id (the last one: a span scored again replaces its row); PostgreSQL refuses a statement
        # that would update one row twice.
        failing = [_failing_row(r) for r in sorted({r.id: r for r in writes.failing}.values(), key=_id)]
        samples = [(s.id, s.at, s.trace_id, s.span_id, s.scorer, s.service, s.agent, s.reason, s.detail)
                   for s in sorted({s.id: s for s in writes.samples}.values(), key=_id)]
        async with self._transaction() as tx:
            for statement, rows in ((console_schema.ADD_SCORE_ROLLUP, rollups),
                                    (console_schema.ADD_NOT_EVALUATED, counts),
                                    (console_schema.UPSERT_FAILING_INTERACTION, failing),
                                    (console_schema.UPSERT_NOT_EVALUATED_SAMPLE, samples)):
                for first in range(0, len(rows), ROWS_PER_STATEMENT):
                    chunk = rows[first:first + ROWS_PER_STATEMENT]
                    await tx.execute(_many(statement, len(chunk)), tuple(v for row in chunk for v in row))

    async def prune_console_data(self, retention: ConsoleRetention) -> None:
        async with self._transaction() as tx:
            for granularity, before in sorted(retention.before_by_granularity.items()):
                await tx.execute(console_schema.PRUNE_SCORE_ROLLUPS, (granularity, before))
                await tx.execute(console_schema.PRUNE_NOT_EVALUATED, (granularity, before))
            await tx.execute(console_schema.PRUNE_FAILING_BY_AGE, (retention.failing_before,))
            await tx.execute(console_schema.PRUNE_FAILING_BY_COUNT, (retention.failing_keep - 1,))
            await tx.execute(console_schema.PRUNE_NOT_EVALUATED_SAMPLES_BY_AGE, (retention.samples_before,))
            await tx.execute(console_schema.PRUNE_NOT_EVALUATED_SAMPLES_BY_COUNT,
                             (retention.samples_keep - 1,))


ROWS_PER_STATEMENT = 200
"""Rows one multi-row ``INSERT`` writes (at most 27 parameters each: well under SQLite's 32,766)."""
_ONE_ROW = re.compile(r"VALUES \((?:%s, )*%s\)")


def _many(statement: str, rows: int) -> str:
    """A one-row ``INSERT ... VALUES (%s, ...)`` statement made to insert ``rows`` rows."""
    match = _ONE_ROW.search(statement)
    assert match is not None, statement
    group = match.group(0)[len("VALUES "):]
    return f"{statement[:match.start()]}VALUES {', '.join([group] * rows)}{statement[match.end():]}"


def _id(item: InteractionRecord | NotEvaluatedSample) -> str:
    return item.id


def _failing_row(record: InteractionRecord) -> tuple[Any, ...]:
    return (record.id, record.at, record.scorer, record.agent, record.service, record.environment,
            record.behavior_id, record.score,
            "error" if record.score is None else "failed",
            json.dumps(record.to_json(), sort_keys=True, default=str))  # ASCII: escapes lone surrogates

