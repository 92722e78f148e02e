"""The typed answers of the console's read API (:mod:`evaluator_service.console.queries`).

Plain frozen dataclasses the web app renders as they are (``dataclasses.asdict`` gives their JSON form).
Times are Unix seconds; series are dense (every slot of the range, zero where nothing was scored), so a
chart needs no gap filling.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.config_sections import RuleConfig
from evaluator_service.scoring.settings import ScorerConfig
from evaluator_service.state.alert_rows import AlertStatus, HistoryEntry
from evaluator_service.state.alert_silences import Silence
from evaluator_service.state.behavior_records import StoredBehavior
from evaluator_service.state.console_reads import FailingRow
from evaluator_service.state.console_rows import HISTOGRAM_BINS, NotEvaluatedSample, RollupSums
from evaluator_service.state.pauses import PausedScorer
from evaluator_service.state.scorer_pointers import Promotion, ScorerPointer
from evaluator_service.state.scorer_versions import ScorerFiles, StoredScorer
from evaluator_service.state.shadow_rows import ShadowComparison

__all__ = [
    "HISTOGRAM_LABELS", "AlertsView", "BehaviorView", "FailingInteraction", "FailingPage",
    "NotEvaluatedCount",
    "NotEvaluatedSample", "NotEvaluatedSummary", "Overview", "PausedScorer", "ReasonSeries", "ScoreSeries",
    "ScoreStats", "ScorerCatalog", "ScorerSource", "SeriesPoint",
]

HISTOGRAM_LABELS = ("< 0", *(f"{i / HISTOGRAM_BINS:.1f}-{(i + 1) / HISTOGRAM_BINS:.1f}"
                             for i in range(HISTOGRAM_BINS)), "> 1")
"""The label of each :attr:`ScoreStats.histogram` count: below 0, ten bins of [0, 1] (1.0 in the last),
above 1."""

FailingInteraction = FailingRow
"""One failing or errored interaction: ``record`` (an InteractionRecord) and ``outcome`` (failed/error)."""


@dataclass(frozen=True, slots=True)
class ScoreStats:
    """Counts of results over some time and scope."""

    scores: int
    """Results with a score."""
    passes: int
    failures: int
    errors: int
    """Results without a score (scoring errors, apart from failures)."""
    pass_rate: float | None
    """``passes / scores``; ``None`` without scores."""
    mean_score: float | None
    histogram: tuple[int, ...]
    """Counts per :data:`HISTOGRAM_LABELS` bin."""
    mean_latency_s: float | None
    """Mean time to score, over the results that measured it."""
    cost_usd: float | None
    """Judge cost summed over the results that reported one; ``None`` if none did."""

    @property
    def volume(self) -> int:
        """Every result: scores and errors."""
        return self.scores + self.errors

    @classmethod
    def of(cls, sums: RollupSums) -> ScoreStats:
        return cls(
            scores=sums.scores, passes=sums.passes, failures=sums.failures, errors=sums.errors,
            pass_rate=sums.passes / sums.scores if sums.scores else None,
            mean_score=sums.value_sum / sums.scores if sums.scores else None,
            histogram=tuple(sums.histogram),
            mean_latency_s=sums.latency_sum / sums.latency_count if sums.latency_count else None,
            cost_usd=sums.cost_sum if sums.cost_count else None)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One slot of a series: ``at`` is its start."""

    at: int
    stats: ScoreStats


@dataclass(frozen=True, slots=True)
class ScoreSeries:
    """The series of one scorer (or agent) over the range, and its total."""

    name: str
    points: list[SeriesPoint]
    total: ScoreStats


@dataclass(frozen=True, slots=True)
class Overview:
    """Pass rate, volume, errors, score distribution, latency and cost per scorer and per agent."""

    start: int
    end: int
    step_s: int
    granularity_s: int
    """The rollup read (60: minute rows, 3600: hour rows); the range is aligned to it."""
    total: ScoreStats
    points: list[SeriesPoint]
    """Everything together, slot by slot."""
    by_scorer: list[ScoreSeries]
    by_agent: list[ScoreSeries]
    """Agent ``""``: spans without ``gen_ai.agent.name``."""
    paused: list[PausedScorer]
    not_evaluated: int
    """Scoring requests that got no score in the range (see :class:`NotEvaluatedSummary`; its counts are
    kept per scorer and service, so the agent and environment filters do not narrow this number)."""


@dataclass(frozen=True, slots=True)
class FailingPage:
    """One page of failing interactions, newest first; pass ``next_cursor`` for the next page."""

    items: list[FailingRow]
    next_cursor: str | None
    """``None``: this is the last page."""


@dataclass(frozen=True, slots=True)
class NotEvaluatedCount:
    reason: str
    description: str
    scorer: str
    """``""`` for spans whose requests could not be read (no scorer known)."""
    service: str
    spans: int


@dataclass(frozen=True, slots=True)
class ReasonSeries:
    reason: str
    points: list[tuple[int, int]]
    """``(slot start, spans)`` for every slot of the range."""


@dataclass(frozen=True, slots=True)
class NotEvaluatedSummary:
    """Spans that asked for a score and got none: counts by reason, a series per reason, recent samples."""

    start: int
    end: int
    step_s: int
    total: int
    counts: list[NotEvaluatedCount]
    """Per reason x scorer x service, largest first."""
    series: list[ReasonSeries]
    samples: list[NotEvaluatedSample]
    """The most recent ones (a bounded sample: older ones are pruned by ``console_data`` retention)."""


@dataclass(frozen=True, slots=True)
class BehaviorView:
    """A behavior (issue) with its member counts per trend bucket (``bucket_s`` seconds each)."""

    behavior: StoredBehavior
    trend: list[tuple[int, int]]
    """``(bucket start, members)`` for every bucket of the requested window, oldest first."""
    bucket_s: int


@dataclass(frozen=True, slots=True)
class AlertsView:
    """Every alert's current state, the latest transitions, and silences not yet ended."""

    statuses: list[AlertStatus]
    history: list[HistoryEntry]
    silences: list[Silence]


@dataclass(frozen=True, slots=True)
class ScorerSource:
    """One uploaded scorer version with its source (read-only)."""

    scorer: StoredScorer
    files: ScorerFiles


@dataclass(frozen=True, slots=True)
class ScorerCatalog:
    """Every scorer a request may name on this evaluator, and the rules that request them."""

    builtin: list[str]
    """Built-in span scorer types, usable by name (``answer_relevancy``, ``regex``, ...)."""
    builtin_trajectory: list[str]
    """Built-in trajectory scorer types (``tool_loop``, ``agent_judge``, ...)."""
    configured: list[ScorerConfig]
    """YAML ``scorers:`` entries (named, configured variants; never secrets, only the key's variable name)."""
    rules: list[RuleConfig]
    """YAML ``rules:``: which spans of zero-code apps are scored by which scorer."""
    uploaded: list[StoredScorer]
    """Uploaded scorer versions (their source through ``ConsoleQueries.scorer_source``)."""


@dataclass(frozen=True, slots=True)
class ScorerVersionsView:
    """One uploaded scorer's versions as production runs them: the stored pointer, the version unpinned
    requests run, its latest promotions, and its shadow comparison (what ``judgeval scorers compare``
    shows) when a shadow runs or has results."""

    pointer: ScorerPointer
    current_version: int | None
    promotions: list[Promotion]
    comparison: ShadowComparison | None
