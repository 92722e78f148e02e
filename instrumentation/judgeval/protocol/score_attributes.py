"""How scores are written onto a span: per score an event plus flat attributes, and the span's verdict.

Shared by the SDK (local, ``server_hosted=False`` scorers) and the evaluator service (hosted scorers), so a
score looks the same wherever it was computed. :func:`score_attributes` and :func:`error_score_attributes`
return plain dicts of OpenTelemetry attribute values: ``(event_attrs, span_attrs)``. ``event_attrs`` belong
on one event named :data:`~judgeval.semconv.GEN_AI_EVALUATION_RESULT_EVENT`; ``span_attrs`` are the flat,
queryable ``judgeval.score.<scorer_key>.<field>`` attributes. :func:`verdict_attributes` is the span-level
verdict over all of a span's requested scores: ``judgeval.eval.status`` (``scored`` when every request
produced a score, ``partial`` when some did, ``failed`` when none did) and ``judgeval.eval.success`` (every
request produced a passing score).
"""

from __future__ import annotations

from collections.abc import Iterable

from judgeval import semconv
from judgeval.semconv import EvalStatus, ScoreField, ScoreLabel

AttributeDict = dict[str, str | bool | int | float]


def score_attributes(
    name: str,
    value: float,
    threshold: float,
    reason: str | None,
    success: bool | None = None,
) -> tuple[AttributeDict, AttributeDict]:
    """Attributes for a produced score; ``success`` defaults to ``value >= threshold``."""
    passed = value >= threshold if success is None else success
    label = ScoreLabel.PASS if passed else ScoreLabel.FAIL
    event: AttributeDict = {
        semconv.GEN_AI_EVALUATION_NAME: name,
        semconv.GEN_AI_EVALUATION_SCORE_VALUE: float(value),
        semconv.GEN_AI_EVALUATION_SCORE_LABEL: label.value,
    }
    span: AttributeDict = {
        semconv.score_attribute(name, ScoreField.VALUE): float(value),
        semconv.score_attribute(name, ScoreField.SUCCESS): passed,
        semconv.score_attribute(name, ScoreField.THRESHOLD): float(threshold),
    }
    if reason:
        event[semconv.GEN_AI_EVALUATION_EXPLANATION] = reason
        span[semconv.score_attribute(name, ScoreField.REASON)] = reason
    return event, span


def error_score_attributes(name: str, error_kind: str, message: str) -> tuple[AttributeDict, AttributeDict]:
    """Attributes for a scorer that failed to produce a score (``error_kind`` is e.g. ``timeout``)."""
    explanation = f"{error_kind}: {message}" if message else error_kind
    event: AttributeDict = {
        semconv.GEN_AI_EVALUATION_NAME: name,
        semconv.GEN_AI_EVALUATION_SCORE_LABEL: ScoreLabel.ERROR.value,
        semconv.GEN_AI_EVALUATION_EXPLANATION: explanation,
        semconv.ERROR_TYPE: error_kind,
    }
    span: AttributeDict = {
        semconv.score_attribute(name, ScoreField.ERROR): explanation,
        semconv.score_attribute(name, ScoreField.SUCCESS): False,
    }
    return event, span


def verdict_attributes(passed: Iterable[bool | None]) -> AttributeDict:
    """The span-level status and success over one span's requests.

    ``passed`` holds one entry per request: whether its score met the threshold, or ``None`` when the
    scorer produced no score (an error, a timeout).
    """
    outcomes = list(passed)
    scored = sum(1 for outcome in outcomes if outcome is not None)
    if outcomes and scored == len(outcomes):
        status = EvalStatus.SCORED
    else:
        status = EvalStatus.PARTIAL if scored else EvalStatus.FAILED
    return {
        semconv.JUDGEVAL_EVAL_STATUS: status.value,
        semconv.JUDGEVAL_EVAL_SUCCESS: bool(outcomes) and all(outcome is True for outcome in outcomes),
    }
