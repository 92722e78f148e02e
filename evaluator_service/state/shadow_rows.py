"""Shadow results in the shared state: what a scorer version in shadow said about an interaction the current
version scored in production, side by side, so ``judgeval scorers compare`` can show whether promoting it
would change verdicts (and where). Rows are bounded by age and count (see
:class:`~evaluator_service.shadow.settings.ShadowConfig`); they never reach spans, alerts or behaviors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from evaluator_service.state import loop_schema
from evaluator_service.state.transaction import TransactionSource


@dataclass(frozen=True, slots=True)
class ShadowResult:
    """One interaction scored by both versions. ``record_id`` is the interaction record's id
    (``trace:span:scorer``); a ``None`` pass is a scoring error (its message is the reason)."""

    record_id: str
    scorer: str
    trace_id: str
    span_id: str
    current_version: int
    shadow_version: int
    current_score: float | None
    current_passed: bool | None
    current_reason: str
    shadow_score: float | None
    shadow_passed: bool | None
    shadow_reason: str
    at: float

    @property
    def changed(self) -> bool:
        """The two versions' verdicts differ (a pass, a fail, or an error on one side only)."""
        return self.current_passed != self.shadow_passed


@dataclass(frozen=True, slots=True)
class ShadowComparison:
    """The current versions against one shadow version of a scorer, over the stored results."""

    scorer: str
    shadow_version: int
    current_versions: list[int]
    count: int
    current_scored: int
    """Results where the current version produced a score (others were errors)."""
    shadow_scored: int
    current_passed: int
    shadow_passed: int
    compared: int
    """Results where both versions produced a verdict: what the agreement rate is over."""
    agreed: int
    mean_score_delta: float | None
    """Mean of (shadow score - current score) where both scored; ``None`` when none did."""
    changed_count: int
    changed: list[ShadowResult] = field(default_factory=list)
    """The latest results whose verdicts differ, newest first (at most the asked limit)."""

    @property
    def current_pass_rate(self) -> float | None:
        return self.current_passed / self.current_scored if self.current_scored else None

    @property
    def shadow_pass_rate(self) -> float | None:
        return self.shadow_passed / self.shadow_scored if self.shadow_scored else None

    @property
    def agreement_rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


class ShadowResultState(Protocol):
    """The shadow-result part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def store_shadow_results(self, results: list[ShadowResult]) -> None:
        """Insert (or, for a redelivered interaction, replace) ``results`` in one transaction."""
        ...

    async def prune_shadow_results(self, older_than: float, keep_at_most: int) -> int:
        """Delete results stored before ``older_than`` and all but the newest ``keep_at_most``; returns how
        many went."""
        ...

    async def shadow_versions_compared(self, scorer: str) -> list[int]:
        """The shadow versions of ``scorer`` that have stored results, ascending."""
        ...

    async def compare_shadow(self, scorer: str, shadow_version: int, changed_limit: int = 20
                             ) -> ShadowComparison:
        """Counts, rates and the latest changed cases of ``shadow_version`` against the current versions."""
        ...


async def shadow_to_compare(state: ShadowResultState, scorer: str, running: int | None) -> int | None:
    """The shadow version a comparison shows: the one running, else the latest with stored results, else
    ``None`` (what ``judgeval scorers compare`` and the console's Scorers page both show)."""
    if running is not None:
        return running
    return max(await state.shadow_versions_compared(scorer), default=None)


class SqlShadowRows(TransactionSource):
    """:class:`ShadowResultState` over the backend's transactions (no change counter: nothing cached)."""

    async def store_shadow_results(self, results: list[ShadowResult]) -> None:
        if not results:
            return
        async with self._transaction() as tx:
            for r in results:
                await tx.execute(loop_schema.UPSERT_SHADOW_RESULT, (
                    r.record_id, r.shadow_version, r.scorer, r.trace_id, r.span_id, r.current_version,
                    r.current_score, _flag(r.current_passed), r.current_reason, r.shadow_score,
                    _flag(r.shadow_passed), r.shadow_reason, r.at))

    async def prune_shadow_results(self, older_than: float, keep_at_most: int) -> int:
        async with self._transaction() as tx:
            before = await tx.execute(loop_schema.COUNT_SHADOW_RESULTS)
            await tx.execute(loop_schema.PRUNE_SHADOW_RESULTS_BY_AGE, (older_than,))
            await tx.execute(loop_schema.PRUNE_SHADOW_RESULTS_BY_COUNT, (keep_at_most,))
            after = await tx.execute(loop_schema.COUNT_SHADOW_RESULTS)
        return int(before[0][0]) - int(after[0][0])

    async def shadow_versions_compared(self, scorer: str) -> list[int]:
        async with self._transaction() as tx:
            rows = await tx.execute(loop_schema.SELECT_SHADOW_VERSIONS, (scorer,))
        return [int(row[0]) for row in rows]

    async def compare_shadow(self, scorer: str, shadow_version: int, changed_limit: int = 20
                             ) -> ShadowComparison:
        key = (scorer, shadow_version)
        async with self._transaction() as tx:
            totals = (await tx.execute(loop_schema.SHADOW_TOTALS, key))[0]
            currents = await tx.execute(loop_schema.SHADOW_CURRENT_VERSIONS, key)
            changed_count = (await tx.execute(loop_schema.COUNT_SHADOW_CHANGED, key))[0][0]
            changed = await tx.execute(loop_schema.SELECT_SHADOW_CHANGED, (*key, changed_limit))
        count, cur_scored, sh_scored, cur_passed, sh_passed, compared, agreed, delta = totals
        return ShadowComparison(
            scorer=scorer, shadow_version=shadow_version, current_versions=[int(r[0]) for r in currents],
            count=int(count), current_scored=int(cur_scored or 0), shadow_scored=int(sh_scored or 0),
            current_passed=int(cur_passed or 0), shadow_passed=int(sh_passed or 0),
            compared=int(compared or 0), agreed=int(agreed or 0),
            mean_score_delta=None if delta is None else float(delta), changed_count=int(changed_count),
            changed=[_result(row) for row in changed])


def _flag(passed: bool | None) -> int | None:
    return None if passed is None else int(passed)


def _result(row: tuple[Any, ...]) -> ShadowResult:
    (record_id, shadow_version, scorer, trace_id, span_id, current_version, current_score, current_passed,
     current_reason, shadow_score, shadow_passed, shadow_reason, at) = row
    return ShadowResult(
        record_id=str(record_id), scorer=str(scorer), trace_id=str(trace_id), span_id=str(span_id),
        current_version=int(current_version), shadow_version=int(shadow_version),
        current_score=None if current_score is None else float(current_score),
        current_passed=None if current_passed is None else bool(current_passed),
        current_reason=str(current_reason),
        shadow_score=None if shadow_score is None else float(shadow_score),
        shadow_passed=None if shadow_passed is None else bool(shadow_passed),
        shadow_reason=str(shadow_reason), at=float(at))
