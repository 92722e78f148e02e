"""Writing scores onto OTLP protobuf spans: events, flat attributes and the final routing status.

The attribute shapes and the span-level verdict come from :mod:`judgeval.protocol.score_attributes`, shared
with the SDK, so a score looks the same wherever it was computed. Rewriting ``judgeval.eval.status`` away
from ``pending`` is what keeps an enriched span from looping back into evaluation when the collector
re-ingests it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from judgeval import semconv
from judgeval.protocol.otlp_values import add_event, set_attributes
from judgeval.protocol.score_attributes import error_score_attributes, score_attributes, verdict_attributes
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.scoring.contract import ScoreResult


def enrich_span(
    span: Span, results: Sequence[ScoreResult], extra: Mapping[str, Any] | None = None
) -> semconv.EvalStatus:
    """Record every result on ``span`` and rewrite its status (plus the ``extra`` attributes, in the same
    pass); returns the new status."""
    now = time.time_ns()
    errors: list[str] = []
    attributes: dict[str, Any] = {}
    for result in results:
        if result.outcome is not None:
            event_attrs, span_attrs = score_attributes(
                result.scorer_name, result.outcome.value, result.threshold, result.outcome.reason,
                result.outcome.success,
            )
            if result.outcome.label:  # a scorer's own label (e.g. "refusal") beats the generic pass/fail
                event_attrs[semconv.GEN_AI_EVALUATION_SCORE_LABEL] = result.outcome.label
        else:
            kind = result.error_kind or "error"
            event_attrs, span_attrs = error_score_attributes(result.scorer_name, kind, result.error_message)
            errors.append(f"{result.scorer_name}: {kind}: {result.error_message}".rstrip(": "))
        add_event(span, semconv.GEN_AI_EVALUATION_RESULT_EVENT, event_attrs, now)
        attributes.update(span_attrs)
    attributes.update(verdict_attributes(r.passed for r in results))
    if errors:
        attributes[semconv.JUDGEVAL_EVAL_ERROR] = "\n".join(errors)
    if extra:
        attributes.update(extra)
    set_attributes(span, attributes)
    return semconv.EvalStatus(attributes[semconv.JUDGEVAL_EVAL_STATUS])


def mark_failed(span: Span, reason: str, extra: Mapping[str, Any] | None = None) -> None:
    """Mark a span that could not be scored at all (e.g. an unreadable request payload), plus the ``extra``
    attributes, in one pass."""
    set_attributes(span, {**verdict_attributes(()), semconv.JUDGEVAL_EVAL_ERROR: reason, **(extra or {})})
