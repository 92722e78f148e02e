"""Per-replica bookkeeping between two alert ticks: counts not yet written to the shared buckets, and the
most recent offending spans (the examples a notification carries)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from evaluator_service.alerts.config import AlertConfig
from evaluator_service.alerts.events import ScoreEvent
from evaluator_service.alerts.notify import MAX_EXAMPLES, SpanExample

BUCKETS_PER_WINDOW = 60


def bucket_seconds(alert: AlertConfig) -> int:
    """Width of one shared count bucket: a 60th of the window, at least one second."""
    return max(1, int(alert.window_s // BUCKETS_PER_WINDOW))


def bucket_of(alert: AlertConfig, at: float) -> int:
    """Start second of the bucket holding time ``at``."""
    width = bucket_seconds(alert)
    return math.floor(at / width) * width


@dataclass
class AlertTracker:
    """Counts and examples gathered for one alert since the last flush."""

    alert: AlertConfig
    pending: dict[int, list[int]] = field(default_factory=dict)
    examples: deque[SpanExample] = field(default_factory=lambda: deque(maxlen=MAX_EXAMPLES))
    service_name: str = ""
    last_breach: float | None = None
    recorded_value: float | None = None
    claim_after: float = 0.0

    def count(self, event: ScoreEvent, bad: bool) -> None:
        """Add one counted event (``bad``: it breaches) to the bucket of its time."""
        totals = self.pending.setdefault(bucket_of(self.alert, event.at), [0, 0])
        totals[0] += 1
        if bad:
            totals[1] += 1
            self.remember(event)

    def remember(self, event: ScoreEvent) -> None:
        """Keep ``event`` as an example of the breach."""
        self.examples.append(SpanExample(event.trace_id, event.span_id, event.service_name))
        self.service_name = event.service_name
        self.last_breach = event.at

    def recent_examples(self) -> tuple[SpanExample, ...]:
        """The remembered offending spans, newest (the one that triggered) first."""
        return tuple(reversed(self.examples))

    def take_counts(self) -> list[tuple[str, int, int, int]]:
        """The pending counts as shared-state rows, clearing them."""
        rows = [(self.alert.name, bucket, total, bad) for bucket, (total, bad) in self.pending.items()]
        self.pending = {}
        return rows

    def restore_counts(self, rows: list[tuple[str, int, int, int]]) -> None:
        """Put back counts a failed flush could not write, so an outage delays them instead of losing them."""
        for _, bucket, total, bad in rows:
            totals = self.pending.setdefault(bucket, [0, 0])
            totals[0] += total
            totals[1] += bad

    def window_start(self, now: float) -> int:
        """First bucket inside the window ending at ``now``."""
        return bucket_of(self.alert, now - self.alert.window_s + bucket_seconds(self.alert))
