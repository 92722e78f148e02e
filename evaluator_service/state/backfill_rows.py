"""Spans a backfill scored, per (scorer, version, trace id, span id): the same scorer and version never
scores a span twice, across runs and replicas.

A run *claims* a span before scoring it (a row in state ``claimed`` with a holder and a time); only one
holder wins a claim, so two runs over the same range, on one replica or several, split the spans instead of
both scoring them. A span whose result was stored for export is marked ``done`` and never claimed again; a
claim whose run died (no ``done`` within ``lease_s``) may be taken over; a claim whose scoring ended without
a score is released, so a later run tries again.
"""

from __future__ import annotations

from typing import Protocol

from evaluator_service.state import loop_schema
from evaluator_service.state.transaction import TransactionSource

CLAIMED = "claimed"
DONE = "done"


class BackfillState(Protocol):
    """The backfill part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def backfilled_spans(self, scorer: str, version: str, trace_id: str) -> set[str]:
        """Hex span ids of ``trace_id`` that ``scorer`` at ``version`` has scored (``done``) by backfill."""
        ...

    async def claim_backfill_span(self, scorer: str, version: str, trace_id: str, span_id: str, holder: str,
                                  run_id: str, now: float, lease_s: float) -> bool:
        """Claim one span for ``holder``; ``False`` when it is done or another holder's claim is younger
        than ``lease_s``."""
        ...

    async def finish_backfill_span(self, scorer: str, version: str, trace_id: str, span_id: str,
                                   holder: str) -> None:
        """Mark ``holder``'s claimed span ``done`` (its result is stored for export)."""
        ...

    async def release_backfill_span(self, scorer: str, version: str, trace_id: str, span_id: str,
                                    holder: str) -> None:
        """Give up ``holder``'s claim (no score): a later run may claim the span again."""
        ...


class SqlBackfillRows(TransactionSource):
    """:class:`BackfillState` over the backend's transactions."""

    async def backfilled_spans(self, scorer: str, version: str, trace_id: str) -> set[str]:
        async with self._transaction() as tx:
            rows = await tx.execute(loop_schema.SELECT_BACKFILLED_SPANS, (scorer, version, trace_id, DONE))
        return {str(row[0]) for row in rows}

    async def claim_backfill_span(self, scorer: str, version: str, trace_id: str, span_id: str, holder: str,
                                  run_id: str, now: float, lease_s: float) -> bool:
        key = (scorer, version, trace_id, span_id)
        async with self._transaction() as tx:
            await tx.execute(loop_schema.CLAIM_BACKFILL_SPAN, (*key, CLAIMED, holder, now, run_id, CLAIMED,
                                                          now - lease_s))
            rows = await tx.execute(loop_schema.SELECT_BACKFILL_SPAN, key)
        return bool(rows) and str(rows[0][0]) == CLAIMED and str(rows[0][1]) == holder

    async def finish_backfill_span(self, scorer: str, version: str, trace_id: str, span_id: str,
                                   holder: str) -> None:
        async with self._transaction() as tx:
            await tx.execute(loop_schema.FINISH_BACKFILL_SPAN,
                             (DONE, scorer, version, trace_id, span_id, holder))

    async def release_backfill_span(self, scorer: str, version: str, trace_id: str, span_id: str,
                                    holder: str) -> None:
        async with self._transaction() as tx:
            await tx.execute(loop_schema.RELEASE_BACKFILL_SPAN, (scorer, version, trace_id, span_id, holder,
                                                            CLAIMED))
