"""Which stored spans a backfill scores: the user's filter, minus evaluation spans and spans this scorer
already scored (live, or by an earlier backfill of the same version).

Jaeger's search matches whole traces (a trace is returned when one of its spans matches), so the filter is
applied again here, span by span: the service (the span's resource), the span name, every tag (the span's
attribute, else its resource's, compared as Jaeger compares them: as text, booleans as ``true``/``false``)
and the start time. Evaluation spans (``judgeval.span.type=evaluation``: trajectory and backfill results)
never match, so a backfill never scores results, its own included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from judgeval import semconv

from evaluator_service.backends.stored_spans import StoredSpan, StoredTrace


@dataclass(frozen=True)
class SpanFilter:
    """The spans a backfill is about: one service's spans that started in ``[start, end]``, optionally of
    one name and carrying given tags."""

    service: str
    start: datetime
    end: datetime
    operation: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def matches(self, span: StoredSpan) -> bool:
        if span.service_name != self.service or is_evaluation(span):
            return False
        if self.operation and span.name != self.operation:
            return False
        started = span.span.start_time_unix_nano
        if not _nanos(self.start) <= started <= _nanos(self.end):
            return False
        for key, wanted in self.tags.items():
            actual = span.attributes.get(key, span.resource_attributes.get(key))
            if actual is None or tag_text(actual) != wanted:
                return False
        return True


def tag_text(value: Any) -> str:
    """An attribute value as Jaeger's tag search compares it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_evaluation(span: StoredSpan) -> bool:
    """A result span (trajectory or backfill evaluation), never itself scored."""
    return span.attributes.get(semconv.JUDGEVAL_SPAN_TYPE) == semconv.SpanType.EVALUATION.value


def scored_live(span: StoredSpan, scorer: str) -> bool:
    """The evaluator scored this span live with ``scorer`` (its flat score attribute is on the span)."""
    return semconv.score_attribute(scorer, semconv.ScoreField.VALUE) in span.attributes


def backfilled_in_trace(trace: StoredTrace, span: StoredSpan, scorer: str, version: str) -> bool:
    """The trace already holds a backfill result of ``scorer`` at ``version`` under ``span`` (written by
    an earlier run, whatever state database it used)."""
    for child in trace.children(span.span_id):
        attributes = child.attributes
        if (semconv.JUDGEVAL_BACKFILL_RUN_ID in attributes
                and attributes.get(semconv.JUDGEVAL_EVALUATOR_NAME) == scorer
                and str(attributes.get(semconv.JUDGEVAL_EVALUATOR_VERSION, "")) == version):
            return True
    return False


def _nanos(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000) * 1000
