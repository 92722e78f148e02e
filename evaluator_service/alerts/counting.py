"""Per-replica counting between two alert ticks: each score event an alert looks at is folded into the
bucket of its second (no queue, so nothing can overflow), and the most recent offending spans are kept as
the examples a notification carries. Each tick moves the counts into the shared buckets.

The first example is the one that breached: for a single-score condition the worst score in the window
(lowest for ``score_below``, highest for ``score_above``), for the rate conditions the latest failing
result; its reason is the notification's ``reason``."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from evaluator_service.alerts.config import AlertConfig
from evaluator_service.alerts.events import ScoreEvent
from evaluator_service.alerts.notification import AlertExample
from evaluator_service.state.alert_rows import CountRow
from evaluator_service.state.behavior_placements import PlacementKey
from evaluator_service.state.behavior_records import KIND_ERROR, KIND_FAILURE

MAX_EXAMPLES = 5
BUCKETS_PER_SHORTEST_WINDOW = 10


@dataclass
class _Bucket:
    scores: int = 0
    failures: int = 0
    errors: int = 0
    low: float | None = None
    high: float | None = None


@dataclass
class AlertCounter:
    """Counts and examples of one windowed alert since the last flush."""

    alert: AlertConfig
    width: int = 1
    pending: dict[int, _Bucket] = field(default_factory=dict)
    examples: deque[tuple[float, ScoreEvent]] = field(default_factory=lambda: deque(maxlen=MAX_EXAMPLES))
    """The latest offending events with the time they were counted, turned into :class:`AlertExample` only
    when a notification needs them."""

    def __post_init__(self) -> None:
        condition = self.alert.condition
        windows = condition.windows if condition else ()
        self.width = max(1, int(min(windows, default=60.0) // BUCKETS_PER_SHORTEST_WINDOW))
        above = getattr(condition, "above", None)  # single-score kinds: a score past a threshold offends
        self._offends = (None if condition is None or above is None
                         else lambda value: condition.levels.level(value, bool(above)) is not None)
        self._worst_first = None if above is None else bool(above)
        """Single-score kinds: the headline example is the highest (``above``) or lowest score."""

    @property
    def longest_window(self) -> float:
        return max(self.alert.condition.windows if self.alert.condition else (), default=0.0)

    def bucket_of(self, at: float) -> int:
        return math.floor(at / self.width) * self.width

    def fold(self, event: ScoreEvent, at: float) -> None:
        """Count ``event`` (the alert's filter already matched) in the bucket of ``at``."""
        bucket = self.pending.setdefault(self.bucket_of(at), _Bucket())
        if event.value is None:
            bucket.errors += 1
            self.examples.append((at, event))
            return
        bucket.scores += 1
        bucket.low = event.value if bucket.low is None else min(bucket.low, event.value)
        bucket.high = event.value if bucket.high is None else max(bucket.high, event.value)
        failed = event.succeeded is False
        bucket.failures += failed
        if failed or (self._offends is not None and self._offends(event.value)):
            self.examples.append((at, event))

    def recent_examples(self, now: float | None = None) -> tuple[AlertExample, ...]:
        """The remembered offending spans (only those inside the longest window ending at ``now``, when
        given) with their trace links: the one that breached first (see the module docs), then the others
        newest first."""
        return tuple(self._example(event) for event in self._recent_events(now))

    def headline_placement(self, now: float) -> PlacementKey | None:
        """Where the breaching example (the first of :meth:`recent_examples`) would have been placed in a
        behavior: its scorer's failure, or its scoring error; ``None`` without an example."""
        events = self._recent_events(now)
        if not events:
            return None
        event = events[0]
        kind = KIND_ERROR if event.value is None else KIND_FAILURE
        return PlacementKey(kind, event.scorer, event.trace_id, event.span_id)

    def _recent_events(self, now: float | None) -> list[ScoreEvent]:
        oldest = None if now is None else now - self.longest_window
        events = [e for at, e in reversed(self.examples) if oldest is None or at >= oldest]
        scored = [e for e in events if e.value is not None]
        if self._worst_first is not None and scored:
            pick = max if self._worst_first else min
            worst = pick(scored, key=lambda e: e.value if e.value is not None else 0.0)
            events = [worst, *(e for e in events if e is not worst)]
        return events

    def _example(self, event: ScoreEvent) -> AlertExample:
        link = self.alert.trace_link(event.trace_id, event.span_id, event.service_name)
        fallback = event.error_kind if event.value is None else f"{event.scorer} = {event.value:g}"
        return AlertExample(event.trace_id, event.span_id, event.service_name, event.reason or fallback, link)

    def take_rows(self) -> list[CountRow]:
        """The pending counts as shared rows, clearing them."""
        rows = [CountRow(self.alert.name, bucket, b.scores, b.failures, b.errors, b.low, b.high)
                for bucket, b in sorted(self.pending.items())]
        self.pending = {}
        return rows

    def restore(self, rows: list[CountRow], now: float) -> None:
        """Put back counts a failed flush could not write (an outage delays them, never loses them); only
        buckets that can still fall into a window are kept, so memory stays bounded."""
        oldest = self.prune_before(now)
        for row in rows:
            if row.bucket < oldest:
                continue
            b = self.pending.setdefault(row.bucket, _Bucket())
            b.scores += row.scores
            b.failures += row.failures
            b.errors += row.errors
            b.low = _merged(b.low, row.min_value, min)
            b.high = _merged(b.high, row.max_value, max)

    def window_starts(self, now: float) -> list[int]:
        """First bucket of each of the condition's windows ending at ``now``."""
        windows = self.alert.condition.windows if self.alert.condition else ()
        return [self.bucket_of(now - window + self.width) for window in windows]

    def prune_before(self, now: float) -> int:
        """Buckets before this one can no longer fall into any window."""
        return self.bucket_of(now - self.longest_window - self.width)


def _merged(a: float | None, b: float | None, pick: Callable[[float, float], float]) -> float | None:
    return b if a is None else a if b is None else pick(a, b)
