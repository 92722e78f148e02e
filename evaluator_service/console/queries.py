"""The console's read API: what every page of the web app asks the shared state, answered from counters.

::

    queries = ConsoleQueries(state)                    # any replica's SharedState: they all see the same
    overview = await queries.overview(now - 3600, now, step_s=60)
    page = await queries.failing(FailingFilter(scorer="Helpfulness"), limit=50)
    more = await queries.failing(FailingFilter(scorer="Helpfulness"), limit=50, cursor=page.next_cursor)
    summary = await queries.not_evaluated(now - 86400, now, step_s=3600)

Ranges read minute rollups while they are kept (``console_data.minute_retention_s``), hour rollups beyond;
the range is aligned to the rollup it reads and ``step_s`` rounded up to a multiple of it (the answer says
which). Bad input (an empty range, a step below a minute, too many slots, a damaged cursor) raises
:class:`ConsoleQueryError` with a message fit for the user; the database being unreachable raises
``StateUnavailable``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence

from evaluator_service.config_sections import RuleConfig
from evaluator_service.console.reasons import describe
from evaluator_service.console.settings import HOUR, MINUTE, ConsoleDataConfig
from evaluator_service.console.views import (
    AlertsView,
    BehaviorView,
    FailingPage,
    NotEvaluatedCount,
    NotEvaluatedSummary,
    Overview,
    ReasonSeries,
    ScorerCatalog,
    ScorerSource,
    ScorerVersionsView,
    ScoreSeries,
    ScoreStats,
    SeriesPoint,
)
from evaluator_service.errors import EvaluatorError
from evaluator_service.scoring.builtin import catalog
from evaluator_service.scoring.settings import ScorerConfig
from evaluator_service.state.alert_outbox import DeliveryRecord
from evaluator_service.state.behavior_rows import BUCKET_S, bucket_of
from evaluator_service.state.console_reads import FailingFilter, FailingRow, ScoreFilter, SlotRange
from evaluator_service.state.console_rows import RollupSums
from evaluator_service.state.contract import SharedState
from evaluator_service.state.pauses import PausedScorer
from evaluator_service.state.replay_runs import ReplayRun
from evaluator_service.state.scorer_pointers import ScorerPointer, effective_current
from evaluator_service.state.scorer_versions import StoredScorer
from evaluator_service.state.shadow_rows import shadow_to_compare

MAX_SLOTS = 2000
"""The most slots one series may have (a week by minute is 10080: ask for a coarser step)."""
MAX_PAGE = 500
"""The most failing interactions (or not-evaluated samples) one call returns."""


class ConsoleQueryError(EvaluatorError, ValueError):
    """A console read asked for something it cannot answer; the message says what to change."""


class ConsoleQueries:
    """Read-only queries of the console over the shared state (cheap: indexed counters, bounded tables)."""

    def __init__(self, state: SharedState, config: ConsoleDataConfig | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._state = state
        self._config = config or ConsoleDataConfig()
        self._clock = clock

    def slots(self, start: float, end: float, step_s: int) -> SlotRange:
        """The rollup granularity, aligned range and step a series over ``[start, end)`` reads."""
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
            raise ConsoleQueryError(f"the range must end after it starts (start={start:g}, end={end:g})")
        if step_s < MINUTE:
            raise ConsoleQueryError(f"step must be at least {MINUTE} seconds, got {step_s}")
        minute_kept_since = self._clock() - self._config.minute_retention_s
        granularity = MINUTE if start >= minute_kept_since and step_s % HOUR else HOUR
        step = math.ceil(step_s / granularity) * granularity
        origin = int(start // granularity) * granularity
        count = math.ceil((end - origin) / step)
        if count > MAX_SLOTS:
            raise ConsoleQueryError(f"{count} slots of {step}s in this range (at most {MAX_SLOTS}): "
                                    "choose a larger step")
        return SlotRange(granularity, origin, step, origin, origin + count * step)

    async def overview(self, start: float, end: float, step_s: int = MINUTE, *, scorer: str | None = None,
                       agent: str | None = None, service: str | None = None,
                       environment: str | None = None) -> Overview:
        """Per scorer and per agent: pass rate, volume, errors, score distribution, latency, cost."""
        slots = self.slots(start, end, step_s)
        where = ScoreFilter(scorer, agent, service, environment)
        scorer_rows = await self._state.rollup_slots("scorer", slots, where)
        by_scorer = _series(slots, scorer_rows)
        by_agent = _series(slots, await self._state.rollup_slots("agent", slots, where))
        all_points = [_zero() for _ in _slot_starts(slots)]
        for series_sums in _sums_by_name(slots, scorer_rows).values():
            for point, sums in zip(all_points, series_sums, strict=True):
                point.add(sums)
        total = _zero()
        for sums in all_points:
            total.add(sums)
        not_evaluated = await self._state.not_evaluated_slots(slots, ScoreFilter(scorer, None, service), None)
        return Overview(
            start=slots.start, end=slots.end, step_s=slots.step, granularity_s=slots.granularity,
            total=ScoreStats.of(total),
            points=[SeriesPoint(at, ScoreStats.of(s)) for at, s in zip(_slot_starts(slots), all_points,
                                                                         strict=True)],
            by_scorer=by_scorer, by_agent=by_agent, paused=await self._state.paused_scorers(),
            not_evaluated=sum(row[4] for row in not_evaluated))

    async def failing(self, where: FailingFilter | None = None, *, limit: int = 50,
                      cursor: str | None = None) -> FailingPage:
        """A page of failing and errored interactions, newest first (keyset pagination by ``cursor``)."""
        if not 1 <= limit <= MAX_PAGE:
            raise ConsoleQueryError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        w = where or FailingFilter()
        if w.outcome not in (None, "failed", "error"):
            raise ConsoleQueryError(f"outcome must be 'failed' or 'error', got {w.outcome!r}")
        for name in ("since", "until", "min_score", "max_score"):
            value = getattr(w, name)
            if value is not None and not math.isfinite(value):
                raise ConsoleQueryError(f"{name} must be a finite number, got {value!r}")
        rows = await self._state.failing_rows(w, _decode_cursor(cursor), limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1].record if rows else None
        return FailingPage(rows, _encode_cursor(last.at, last.id) if more and last is not None else None)

    async def failing_interaction(self, record_id: str) -> FailingRow | None:
        """One stored failing interaction by its id (``trace:span:scorer``), ``None`` if it is not kept."""
        return await self._state.failing_row(record_id)

    async def not_evaluated(self, start: float, end: float, step_s: int = MINUTE, *,
                            reason: str | None = None, scorer: str | None = None, service: str | None = None,
                            samples: int = 50) -> NotEvaluatedSummary:
        """Spans that asked for a score and got none: counts by reason, a series per reason, samples."""
        if not 0 <= samples <= MAX_PAGE:
            raise ConsoleQueryError(f"samples must be between 0 and {MAX_PAGE}, got {samples}")
        slots = self.slots(start, end, step_s)
        where = ScoreFilter(scorer, None, service)
        rows = await self._state.not_evaluated_slots(slots, where, reason)
        counts: dict[tuple[str, str, str], int] = {}
        per_reason: dict[str, dict[int, int]] = {}
        for slot, why, scorer_name, service_name, spans in rows:
            counts[(why, scorer_name, service_name)] = counts.get((why, scorer_name, service_name), 0) + spans
            by_slot = per_reason.setdefault(why, {})
            by_slot[slot] = by_slot.get(slot, 0) + spans
        kept = await self._state.not_evaluated_samples(start, end, where, reason, samples) if samples else []
        return NotEvaluatedSummary(
            start=slots.start, end=slots.end, step_s=slots.step, total=sum(counts.values()),
            counts=sorted((NotEvaluatedCount(r, describe(r), s, v, n) for (r, s, v), n in counts.items()),
                          key=lambda c: (-c.spans, c.reason, c.scorer, c.service)),
            series=[ReasonSeries(r, [(at, by_slot.get(at, 0)) for at in _slot_starts(slots)])
                    for r, by_slot in sorted(per_reason.items())],
            samples=kept)

    async def behaviors(self, window_s: float = 24 * 3600) -> list[BehaviorView]:
        """Every behavior (issue) with its member counts per bucket over the last ``window_s`` seconds."""
        now = self._clock()
        first = bucket_of(now - window_s)
        buckets = await self._state.behavior_buckets(first)
        indexes = range(first, bucket_of(now) + 1)
        return [BehaviorView(b, [(i * BUCKET_S, buckets.get(b.id, {}).get(i, 0)) for i in indexes], BUCKET_S)
                for b in await self._state.behaviors()]

    async def alerts(self, history: int = 100) -> AlertsView:
        """Every alert's state, the latest ``history`` transitions, silences not yet ended."""
        return AlertsView(await self._state.alert_statuses(), await self._state.alert_history(None, history),
                          await self._state.silences(self._clock()))

    async def deliveries(self, event_id: str) -> list[DeliveryRecord]:
        """Every delivery try of one notification (a history entry's ``event_id``)."""
        return await self._state.deliveries_of(event_id)

    async def scorers(self) -> list[StoredScorer]:
        """Every uploaded scorer version (metadata)."""
        return await self._state.scorer_versions()

    async def scorer_catalog(self, scorers: Sequence[ScorerConfig], rules: Sequence[RuleConfig]
                             ) -> ScorerCatalog:
        """Built-ins, the evaluator's YAML ``scorers`` and ``rules``, and uploaded versions."""
        return ScorerCatalog(sorted(catalog.BUILTIN_TYPES), sorted(catalog.TRAJECTORY_TYPES),
                             list(scorers), list(rules), await self._state.scorer_versions())

    async def scorer_source(self, name: str, version: int) -> ScorerSource | None:
        """One uploaded version with its source and requirements; ``None`` if there is no such version."""
        found = await self._state.scorer_files(name, version)
        return ScorerSource(*found) if found is not None else None

    async def paused(self) -> list[PausedScorer]:
        """Paused scorers with the reason."""
        return await self._state.paused_scorers()

    async def scorer_versions(self, versions: Mapping[str, Sequence[int]], *, promotions: int = 5,
                              changed: int = 5) -> dict[str, ScorerVersionsView]:
        """Per uploaded scorer (name: its version numbers): pointer, current version, the latest
        ``promotions`` and the shadow comparison with its latest ``changed`` cases, from the same state
        reads the ScorerVersionsAdmin API answers from (the running shadow, else the latest compared one)."""
        pointers = {p.name: p for p in await self._state.scorer_pointers()}
        out = {}
        for name, numbers in versions.items():
            pointer = pointers.get(name, ScorerPointer(name))
            shadow = await shadow_to_compare(self._state, name, pointer.shadow_version)
            comparison = None if shadow is None else await self._state.compare_shadow(name, shadow, changed)
            out[name] = ScorerVersionsView(pointer, effective_current(numbers, pointer),
                                           await self._state.promotions(name, promotions), comparison)
        return out

    async def replay_runs(self, scorer: str | None = None, limit: int = 20) -> list[ReplayRun]:
        """Recorded dataset replays, newest first (of ``scorer`` only, if given)."""
        return await self._state.replay_runs(scorer, limit)


def _zero() -> RollupSums:
    return RollupSums()


def _slot_starts(slots: SlotRange) -> range:
    return range(slots.origin, slots.end, slots.step)


def _sums_by_name(slots: SlotRange, rows: list[tuple[int, str, RollupSums]]) -> dict[str, list[RollupSums]]:
    index = {at: i for i, at in enumerate(_slot_starts(slots))}
    out: dict[str, list[RollupSums]] = {}
    for slot, name, sums in rows:
        series = out.get(name)
        if series is None:
            series = out[name] = [_zero() for _ in index]
        series[index[slot]].add(sums)
    return out


def _series(slots: SlotRange, rows: list[tuple[int, str, RollupSums]]) -> list[ScoreSeries]:
    out = []
    for name, sums in sorted(_sums_by_name(slots, rows).items()):
        total = _zero()
        for s in sums:
            total.add(s)
        out.append(ScoreSeries(name, [SeriesPoint(at, ScoreStats.of(s))
                                      for at, s in zip(_slot_starts(slots), sums, strict=True)],
                               ScoreStats.of(total)))
    return out


def _encode_cursor(at: float, record_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at, record_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[float, str] | None:
    if not cursor:
        return None
    try:
        at, record_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(at, bool) or not isinstance(at, int | float) or not isinstance(record_id, str):
            raise ValueError("wrong types")
    except (ValueError, TypeError, binascii.Error):
        raise ConsoleQueryError("invalid cursor: pass back the next_cursor of the previous page") from None
    return float(at), record_id
