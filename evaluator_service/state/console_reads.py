"""The console's reads of :mod:`~evaluator_service.state.console_rows`: rollup and not-evaluated counters
summed into the slots of a time range, the failing-interaction list page by page, not-evaluated samples.

Every read is an indexed range over counters or bounded tables; none scans spans. Filters are equalities
on the stored columns, passed as parameters (the column names come from this module, never from input).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.state import console_schema
from evaluator_service.state.console_rows import NotEvaluatedSample, RollupSums
from evaluator_service.state.transaction import TransactionSource, storable_text


@dataclass(frozen=True, slots=True)
class SlotRange:
    """Buckets ``start <= bucket < end`` of ``granularity`` seconds, summed into slots ``origin + k*step``."""

    granularity: int
    origin: int
    step: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ScoreFilter:
    """Equalities on the rollup dimensions; ``None`` matches everything."""

    scorer: str | None = None
    agent: str | None = None
    service: str | None = None
    environment: str | None = None


@dataclass(frozen=True, slots=True)
class FailingFilter:
    """Filters of the failing-interaction list; ``None`` matches everything."""

    scorer: str | None = None
    agent: str | None = None
    service: str | None = None
    environment: str | None = None
    behavior_id: str | None = None
    since: float | None = None
    """``at >= since``."""
    until: float | None = None
    """``at < until``."""
    min_score: float | None = None
    max_score: float | None = None
    """Score bounds (inclusive); with either one, scoring errors (no score) are left out."""
    outcome: str | None = None
    """``failed`` (scored below the threshold) or ``error`` (no score); ``None``: both."""


@dataclass(frozen=True, slots=True)
class FailingRow:
    """One stored failing or errored interaction."""

    record: InteractionRecord
    outcome: str
    """``failed`` (a score below its threshold) or ``error`` (no score)."""


ROLLUP_GROUPS = frozenset({"scorer", "agent", "service", "environment"})
"""The dimensions a rollup read may group by."""


class ConsoleReadState(Protocol):
    """The console's reads."""

    async def rollup_slots(self, group_by: str, slots: SlotRange, where: ScoreFilter
                           ) -> list[tuple[int, str, RollupSums]]:
        """``(slot, group value, sums)`` for every slot and value that has rows, ordered by slot."""
        ...

    async def failing_rows(self, query: FailingFilter, after: tuple[float, str] | None, limit: int
                           ) -> list[FailingRow]:
        """Newest first, at most ``limit``."""
        ...

    async def failing_row(self, record_id: str) -> FailingRow | None:
        ...

    async def not_evaluated_slots(self, slots: SlotRange, where: ScoreFilter, reason: str | None
                                  ) -> list[tuple[int, str, str, str, int]]:
        """``(slot, reason, scorer, service, spans)``, ordered by slot."""
        ...

    async def not_evaluated_samples(self, since: float, until: float, where: ScoreFilter, reason: str | None,
                                    limit: int) -> list[NotEvaluatedSample]:
        """Newest first, at most ``limit``."""
        ...


class SqlConsoleReads(TransactionSource):
    """:class:`ConsoleReadState` over the backend's transactions."""

    async def rollup_slots(self, group_by: str, slots: SlotRange, where: ScoreFilter
                           ) -> list[tuple[int, str, RollupSums]]:
        if group_by not in ROLLUP_GROUPS:
            raise ValueError(f"cannot group rollups by {group_by!r}")
        filters, params = _equalities(where, ("scorer", "agent", "service", "environment"))
        sql = console_schema.SELECT_ROLLUP_SLOTS.format(key=group_by, filters=filters)
        async with self._transaction() as tx:
            rows = await tx.execute(sql, (*_slot_params(slots), *params))
        return [(int(row[0]), str(row[1]), RollupSums.from_row(row[2:])) for row in rows]

    async def failing_rows(self, query: FailingFilter, after: tuple[float, str] | None, limit: int
                           ) -> list[FailingRow]:
        filters, params = _equalities(query, ("scorer", "agent", "service", "environment", "behavior_id",
                                              "outcome"))
        for clause, value in ((" AND at >= %s", query.since), (" AND at < %s", query.until),
                              (" AND score >= %s", query.min_score), (" AND score <= %s", query.max_score)):
            if value is not None:
                filters += clause
                params.append(value)
        if after is not None:  # keyset: rows after the previous page's last (at, id), newest first
            filters += " AND (at < %s OR (at = %s AND id < %s))"
            params += [after[0], after[0], after[1]]
        async with self._transaction() as tx:
            rows = await tx.execute(console_schema.SELECT_FAILING_INTERACTIONS.format(filters=filters),
                                    (*params, limit))
        return [_failing(row) for row in rows]

    async def failing_row(self, record_id: str) -> FailingRow | None:
        async with self._transaction() as tx:
            rows = await tx.execute(console_schema.SELECT_FAILING_INTERACTION, (record_id,))
        return _failing(rows[0]) if rows else None

    async def not_evaluated_slots(self, slots: SlotRange, where: ScoreFilter, reason: str | None
                                  ) -> list[tuple[int, str, str, str, int]]:
        filters, params = _equalities(where, ("scorer", "service"))
        if reason is not None:
            filters += " AND reason = %s"
            params.append(reason)
        async with self._transaction() as tx:
            rows = await tx.execute(console_schema.SELECT_NOT_EVALUATED_SLOTS.format(filters=filters),
                                    (*_slot_params(slots), *params))
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]

    async def not_evaluated_samples(self, since: float, until: float, where: ScoreFilter, reason: str | None,
                                    limit: int) -> list[NotEvaluatedSample]:
        filters, params = _equalities(where, ("scorer", "service", "agent"))
        if reason is not None:
            filters += " AND reason = %s"
            params.append(reason)
        async with self._transaction() as tx:
            rows = await tx.execute(console_schema.SELECT_NOT_EVALUATED_SAMPLES.format(filters=filters),
                                    (since, until, *params, limit))
        return [NotEvaluatedSample(trace_id=str(r[2]), span_id=str(r[3]), scorer=str(r[4]), service=str(r[5]),
                                   agent=str(r[6]), reason=str(r[7]), detail=str(r[8]), at=float(r[1]))
                for r in rows]


def _slot_params(slots: SlotRange) -> tuple[int, ...]:
    return (slots.origin, slots.origin, slots.step, slots.step, slots.granularity, slots.start, slots.end)


def _equalities(where: Any, columns: Sequence[str]) -> tuple[str, list[Any]]:
    """`` AND column = %s`` for each of ``columns`` whose attribute on ``where`` is set."""
    filters, params = "", []
    for column in columns:
        value = getattr(where, column, None)
        if value is not None:
            filters += f" AND {column} = %s"
            params.append(storable_text(value))  # what was stored, so it matches and encodes
    return filters, params


def _failing(row: Sequence[Any]) -> FailingRow:
    return FailingRow(InteractionRecord.from_json(json.loads(row[9])), str(row[8]))
