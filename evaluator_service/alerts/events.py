"""What alerts look at: one :class:`ScoreEvent` per evaluation result, taken from an enriched span.

Built on the scoring dispatcher's task (cheap: no I/O), then folded into the alert counts, so alerting
never slows scoring down.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.protocol.otlp_values import attributes_dict
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.span_fields import span_fields


@dataclass(frozen=True, slots=True)
class ScoreEvent:
    """One scorer's verdict on one span: a score (``value``) or an error (``error_kind``).

    ``succeeded`` is ``None`` for an error: it is neither a pass nor a fail."""

    scorer: str
    value: float | None
    succeeded: bool | None
    error_kind: str | None
    trace_id: str
    span_id: str
    service_name: str
    attributes: Mapping[str, Any]
    at: float
    reason: str | None = None
    """The scorer's explanation of the score, or the error kind and message of a scoring error."""

    @property
    def is_error(self) -> bool:
        """Scoring produced no score (timeout, paused or unknown scorer, crash, ...)."""
        return self.value is None


def score_events(span: Span, results: Sequence[ScoreResult], resource_envelope: bytes) -> list[ScoreEvent]:
    """One event per result; ``attributes`` are resource attributes overlaid by the span's own."""
    if not results:
        return []
    resource = ResourceSpans.FromString(resource_envelope).resource if resource_envelope else None
    attributes = attributes_dict(resource.attributes) if resource is not None else {}
    attributes |= attributes_dict(span.attributes) | span_fields(span)
    service = str(attributes.get(semconv.SERVICE_NAME, ""))
    now = time.time()
    return [
        ScoreEvent(
            scorer=r.scorer_name, value=r.outcome.value if r.outcome is not None else None,
            succeeded=r.passed, error_kind=r.error_kind if r.outcome is None else None,
            trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), service_name=service,
            attributes=attributes, at=now, reason=_reason(r),
        )
        for r in results
    ]


def _reason(result: ScoreResult) -> str | None:
    if result.outcome is not None:
        return result.outcome.reason or None
    if result.error_kind and result.error_message:
        return f"{result.error_kind}: {result.error_message}"
    return result.error_kind or result.error_message or None
