"""How scores are written onto a span: per score an event plus flat attributes, and the span's verdict.

Shared by the SDK (local, ``server_hosted=False`` scorers) and the evaluator service (hosted scorers), so a
score looks the same wherever it was computed. :func:`score_attributes` and :func:`error_score_attributes`
return plain dicts of OpenTelemetry attribute values: ``(event_attrs, span_attrs)``. ``event_attrs`` belong
on one event named :data:`~judgeval.semconv.GEN_AI_EVALUATION_RESULT_EVENT`; ``span_attrs`` are the flat,
queryable ``judgeval.score.<scorer_key>.<field>`` attributes. :func:`verdict_attributes` is the span-level
verdict over all of a span's requested scores: ``judgeval.eval.status`` (``scored`` when every request
produced a score, ``partial`` when some did, ``failed`` when none did), ``judgeval.eval.verdict`` (``pass``,
``fail`` or ``error``) and ``judgeval.eval.success``.

A scoring error is not a failing score: an errored request writes ``judgeval.score.<key>.error`` and the
event label ``error``, never ``success=false``, and a span whose only problems are errors gets verdict
``error`` and no ``judgeval.eval.success`` at all. So ``judgeval.eval.success=false`` (or verdict ``fail``)
finds spans that failed a score, and verdict ``error`` finds spans the scorers could not judge.
"""

from __future__ import annotations

from collections.abc import Iterable

from judgeval import semconv
from judgeval.semconv import EvalStatus, EvalVerdict, ScoreField, ScoreLabel

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
    """Attributes for a scorer that failed to produce a score (``error_kind`` is e.g. ``timeout``).

    No ``success`` attribute: the scorer could not judge the span, so it claims neither pass nor fail."""
    explanation = f"{error_kind}: {message}" if message else error_kind
    event: AttributeDict = {
        semconv.GEN_AI_EVALUATION_NAME: name,
        semconv.GEN_AI_EVALUATION_SCORE_LABEL: ScoreLabel.ERROR.value,
        semconv.GEN_AI_EVALUATION_EXPLANATION: explanation,
        semconv.ERROR_TYPE: error_kind,
    }
    span: AttributeDict = {
        semconv.score_attribute(name, ScoreField.ERROR): explanation,
    }
    return event, span


def verdict_attributes(passed: Iterable[bool | None]) -> AttributeDict:
    """The span-level status, verdict and success over one span's requests.

    ``passed`` holds one entry per request: whether its score met the threshold, or ``None`` when the
    scorer produced no score (an error, a timeout). ``judgeval.eval.success`` is written only when the
    verdict is ``pass`` (true) or ``fail`` (false).
    """
    outcomes = list(passed)
    scored = sum(1 for outcome in outcomes if outcome is not None)
    if outcomes and scored == len(outcomes):
        status = EvalStatus.SCORED
    else:
        status = EvalStatus.PARTIAL if scored else EvalStatus.FAILED
    attributes: AttributeDict = {semconv.JUDGEVAL_EVAL_STATUS: status.value}
    if any(outcome is False for outcome in outcomes):
        verdict = EvalVerdict.FAIL
        attributes[semconv.JUDGEVAL_EVAL_SUCCESS] = False
    elif status is EvalStatus.SCORED:
        verdict = EvalVerdict.PASS
        attributes[semconv.JUDGEVAL_EVAL_SUCCESS] = True
    else:
        verdict = EvalVerdict.ERROR
    attributes[semconv.JUDGEVAL_EVAL_VERDICT] = verdict.value
    return attributes
