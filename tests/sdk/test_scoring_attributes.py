"""The shared score representation used by local scorers and the evaluator service."""

from __future__ import annotations

from judgeval import semconv
from judgeval.scoring_attributes import error_score_attributes, score_attributes
from judgeval.semconv import ScoreField, score_attribute


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
    assert span == {
        score_attribute("s", ScoreField.ERROR): "timeout: no answer in 30s",
        score_attribute("s", ScoreField.SUCCESS): False,
    }
