"""Writing scores onto OTLP protobuf spans: events, flat attributes and the final routing status.

The attribute shapes come from :mod:`judgeval.scoring_attributes`, shared with the SDK, so a score looks the
same wherever it was computed. Rewriting ``judgeval.eval.status`` away from ``pending`` is what keeps an
enriched span from looping back into evaluation when the collector re-ingests it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.scoring_attributes import error_score_attributes, score_attributes
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.scoring.contract import ScoreOutcome


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """What happened to one evaluation request: a score, or the reason there is none."""

    scorer_name: str
    threshold: float
    outcome: ScoreOutcome | None = None
    error_kind: str | None = None
    error_message: str = ""

    @property
    def succeeded(self) -> bool:
        """The scorer produced a score that met its threshold."""
        if self.outcome is None:
            return False
        if self.outcome.success is not None:
            return self.outcome.success
        return self.outcome.value >= self.threshold


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
    scored = sum(1 for r in results if r.outcome is not None)
    status = _status(scored, len(results))
    attributes[semconv.JUDGEVAL_EVAL_STATUS] = status.value
    attributes[semconv.JUDGEVAL_EVAL_SUCCESS] = bool(results) and all(r.succeeded for r in results)
    if errors:
        attributes[semconv.JUDGEVAL_EVAL_ERROR] = "\n".join(errors)
    if extra:
        attributes.update(extra)
    set_attributes(span, attributes)
    return status


def mark_failed(span: Span, reason: str) -> None:
    """Mark a span that could not be scored at all (e.g. an unreadable request payload)."""
    set_attributes(span, {
        semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.FAILED.value,
        semconv.JUDGEVAL_EVAL_SUCCESS: False,
        semconv.JUDGEVAL_EVAL_ERROR: reason,
    })


def _status(scored: int, requested: int) -> semconv.EvalStatus:
    if requested and scored == requested:
        return semconv.EvalStatus.SCORED
    return semconv.EvalStatus.PARTIAL if scored else semconv.EvalStatus.FAILED


def add_event(span: Span, name: str, attributes: Mapping[str, Any], time_unix_nano: int) -> None:
    """Append one event to ``span``."""
    event = span.events.add(name=name, time_unix_nano=time_unix_nano)
    for key, value in attributes.items():
        _assign(event.attributes.add(key=key).value, value)


def set_attributes(span: Span, attributes: Mapping[str, Any]) -> None:
    """Set attributes on ``span``, replacing existing values of the same key (keeping their position)."""
    existing = span.attributes
    index = {kv.key: kv for kv in existing} if existing else {}
    for key, value in attributes.items():
        kv = index.get(key)
        if kv is None:
            kv = index[key] = existing.add(key=key)
        else:
            kv.value.Clear()
        _assign(kv.value, value)


def _assign(target: AnyValue, value: Any) -> None:
    """Write ``value`` into an empty ``AnyValue`` in place (no temporary message to copy)."""
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, list | tuple):
        target.array_value.values.extend(to_any_value(v) for v in value)
    else:
        target.string_value = str(value)


def to_any_value(value: Any) -> AnyValue:
    """A Python attribute value (str, bool, int, float or a list of them) as an OTLP ``AnyValue``."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list | tuple):
        out = AnyValue()
        out.array_value.values.extend(to_any_value(v) for v in value)
        return out
    return AnyValue(string_value=str(value))
