"""The shared score representation and span-level verdict used by local scorers and the evaluator service."""

from __future__ import annotations

import pytest
from judgeval import semconv
from judgeval.protocol.score_attributes import error_score_attributes, score_attributes, verdict_attributes
from judgeval.semconv import EvalStatus, EvalVerdict, ScoreField, score_attribute
from judgeval.tracer import _local_scoring

from evaluator_service import enrichment


def test_passing_score():
    event, span = score_attributes("Package Inquiry Scorer", 1.0, 0.5, "addresses it")
    assert event == {
        semconv.GEN_AI_EVALUATION_NAME: "Package Inquiry Scorer",
        semconv.GEN_AI_EVALUATION_SCORE_VALUE: 1.0,
        semconv.GEN_AI_EVALUATION_SCORE_LABEL: "pass",
        semconv.GEN_AI_EVALUATION_EXPLANATION: "addresses it",
    }
    assert span == {
        "judgeval.score.package_inquiry_scorer.value": 1.0,
        "judgeval.score.package_inquiry_scorer.success": True,
        "judgeval.score.package_inquiry_scorer.threshold": 0.5,
        "judgeval.score.package_inquiry_scorer.reason": "addresses it",
    }


def test_failing_score_without_reason_and_explicit_success():
    event, span = score_attributes("s", 0.2, 0.5, None)
    assert event[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "fail"
    assert semconv.GEN_AI_EVALUATION_EXPLANATION not in event
    assert score_attribute("s", ScoreField.REASON) not in span
    event, span = score_attributes("s", 0.2, 0.5, None, success=True)
    assert span[score_attribute("s", ScoreField.SUCCESS)] is True
    assert event[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "pass"


def test_error_score():
    event, span = error_score_attributes("s", "timeout", "no answer in 30s")
    assert event[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "error"
    assert event[semconv.GEN_AI_EVALUATION_EXPLANATION] == "timeout: no answer in 30s"
    assert semconv.GEN_AI_EVALUATION_SCORE_VALUE not in event
    # An error claims neither pass nor fail: no success attribute at all.
    assert span == {score_attribute("s", ScoreField.ERROR): "timeout: no answer in 30s"}


@pytest.mark.parametrize(
    ("passed", "status", "verdict", "success"),
    [
        ((True, True), EvalStatus.SCORED, EvalVerdict.PASS, True),
        ((True, False), EvalStatus.SCORED, EvalVerdict.FAIL, False),
        ((False, None), EvalStatus.PARTIAL, EvalVerdict.FAIL, False),
        ((True, None), EvalStatus.PARTIAL, EvalVerdict.ERROR, None),
        ((None, None), EvalStatus.FAILED, EvalVerdict.ERROR, None),
        ((None,), EvalStatus.FAILED, EvalVerdict.ERROR, None),
        ((), EvalStatus.FAILED, EvalVerdict.ERROR, None),
    ],
)
def test_verdict(
    passed: tuple[bool | None, ...], status: EvalStatus, verdict: EvalVerdict, success: bool | None
):
    expected: dict[str, object] = {
        semconv.JUDGEVAL_EVAL_STATUS: status.value,
        semconv.JUDGEVAL_EVAL_VERDICT: verdict.value,
    }
    if success is not None:  # a span the scorers could not judge claims neither success nor failure
        expected[semconv.JUDGEVAL_EVAL_SUCCESS] = success
    assert verdict_attributes(iter(passed)) == expected


def test_the_sdk_and_the_evaluator_use_the_one_verdict():
    # Both sides must import the protocol's function, not keep a copy of the rule.
    assert enrichment.verdict_attributes is verdict_attributes
    assert _local_scoring.verdict_attributes is verdict_attributes
    assert enrichment.score_attributes is _local_scoring.score_attributes is score_attributes
    assert enrichment.error_score_attributes is error_score_attributes
    assert _local_scoring.error_score_attributes is error_score_attributes
