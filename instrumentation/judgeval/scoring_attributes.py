"""How one score is written onto a span: the ``gen_ai.evaluation.result`` event plus flat attributes.

Shared by the SDK (local, ``server_hosted=False`` scorers) and the evaluator service (hosted scorers), so a
score looks the same wherever it was computed. Both functions return plain dicts of OpenTelemetry attribute
values: ``(event_attrs, span_attrs)``. ``event_attrs`` belong on one event named
:data:`~judgeval.semconv.GEN_AI_EVALUATION_RESULT_EVENT`; ``span_attrs`` are the flat, queryable
``judgeval.score.<scorer_key>.<field>`` attributes.
"""

from __future__ import annotations

from judgeval import semconv
from judgeval.semconv import ScoreField, ScoreLabel

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
