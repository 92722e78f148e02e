"""Calibration numbers on labeled sets with a known judge error rate, and the Rogan-Gladen corrected rate
against hand computations."""

from __future__ import annotations

import pytest
from sklearn.metrics import cohen_kappa_score

from evaluator_service.calibration.agreement import agreement, cohens_kappa, wilson
from evaluator_service.calibration.corrected_rate import corrected_failure_rate, rogan_gladen
from evaluator_service.state.dataset_labels import DatasetLabel, HumanLabel

from .labeled_sets import judge_verdicts, judged_labels


def test_agreement_measures_a_judge_that_flips_a_known_share() -> None:
    labels = judged_labels(failures=300, passes=500, miss_rate=0.2, false_alarm_rate=0.1)
    judged = agreement(labels)
    assert judged.human_failures == 300 and judged.human_passes == 500 and judged.unjudged == 0
    assert (judged.true_positives, judged.false_negatives) == (240, 60)
    assert (judged.true_negatives, judged.false_positives) == (450, 50)
    se, sp = judged.sensitivity, judged.specificity
    assert se.estimate == 0.8 and sp.estimate == 0.9
    assert se.low is not None and se.high is not None and sp.low is not None and sp.high is not None
    assert se.low < 0.8 < se.high and sp.low < 0.9 < sp.high
    assert 0.0 < se.high - se.low < 0.1  # 300 labels pin it to a few points either way


def test_intervals_cover_the_true_judge_error_at_their_stated_confidence() -> None:
    """Over 200 labeled samples of a judge with Se 0.8 / Sp 0.9, the 95% intervals hold the true rates
    about 95% of the time (binomial spread: 184..197 of 200 covers a correct 95% interval with >99%)."""
    covered_se = covered_sp = 0
    for seed in range(200):
        judged = agreement(judged_labels(failures=150, passes=250, miss_rate=0.2, false_alarm_rate=0.1,
                                         seed=seed, exact=False))
        se, sp = judged.sensitivity, judged.specificity
        covered_se += se.low <= 0.8 <= se.high  # type: ignore[operator]
        covered_sp += sp.low <= 0.9 <= sp.high  # type: ignore[operator]
    assert 184 <= covered_se <= 199 and 184 <= covered_sp <= 199, (covered_se, covered_sp)


def test_positive_means_failure_and_unjudged_labels_stay_out_of_the_rates() -> None:
    labels = [
        DatasetLabel("d", "a", "s", HumanLabel.FAIL, judge_passed=False),   # true positive
        DatasetLabel("d", "b", "s", HumanLabel.FAIL, judge_passed=True),    # missed failure
        DatasetLabel("d", "c", "s", HumanLabel.PASS, judge_passed=True),    # true negative
        DatasetLabel("d", "e", "s", HumanLabel.PASS, judge_passed=False),   # false alarm
        DatasetLabel("d", "f", "s", HumanLabel.PASS, judge_passed=True),
        DatasetLabel("d", "g", "s", HumanLabel.FAIL, judge_passed=None),    # the judge timed out
    ]
    judged = agreement(labels)
    assert (judged.true_positives, judged.false_negatives, judged.true_negatives, judged.false_positives,
            judged.unjudged) == (1, 1, 2, 1, 1)
    assert judged.sensitivity.estimate == 0.5 and judged.specificity.estimate == pytest.approx(2 / 3)


def test_wilson_interval_and_kappa_match_hand_computation_and_sklearn() -> None:
    # Wilson, 8 of 10 at 95%: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.959964
    z = 1.959963984540054
    p, n = 0.8, 10
    centre, spread = p + z * z / (2 * n), z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    w = wilson(8, 10)
    assert w.low == pytest.approx((centre - spread) / (1 + z * z / n))
    assert w.high == pytest.approx((centre + spread) / (1 + z * z / n))
    assert wilson(0, 0).estimate is None
    # kappa: po = 0.7, pe = 0.5*0.5 + 0.5*0.5 = 0.5 -> 0.4
    assert cohens_kappa(tp=35, fn=15, tn=35, fp=15) == pytest.approx(0.4)
    labels = judged_labels(failures=120, passes=200, miss_rate=0.25, false_alarm_rate=0.15)
    human = [label.label == HumanLabel.FAIL for label in labels]
    judge = [label.judge_passed is False for label in labels]
    assert agreement(labels).kappa == pytest.approx(cohen_kappa_score(human, judge))
    assert cohens_kappa(0, 0, 5, 0) is None and cohens_kappa(0, 0, 0, 0) is None


def test_rogan_gladen_matches_the_hand_computation() -> None:
    # (p + Sp - 1) / (Se + Sp - 1) = (0.3 + 0.9 - 1) / (0.8 + 0.9 - 1) = 0.2 / 0.7
    assert rogan_gladen(0.3, 0.8, 0.9) == pytest.approx(0.2 / 0.7)
    # A judge with Se 0.8, Sp 0.9 sees a true 25% failure rate as 0.8*0.25 + 0.1*0.75 = 0.275.
    assert rogan_gladen(0.275, 0.8, 0.9) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="must exceed 1"):
        rogan_gladen(0.3, 0.5, 0.5)
    labels = judged_labels(failures=10, passes=10, miss_rate=0.0, false_alarm_rate=0.0)
    labels[0] = DatasetLabel("d", "x", "polite", HumanLabel.FAIL, judge_passed=True)  # Se 0.9, Sp 1.0
    rate = corrected_failure_rate(30, 100, agreement(labels), min_labels=10)
    assert rate.observed == 0.3 and rate.corrected == pytest.approx(0.3 / 0.9) and rate.refused is None


def test_corrected_rate_recovers_the_true_failure_rate_within_its_interval() -> None:
    judge = agreement(judged_labels(failures=300, passes=500, miss_rate=0.2, false_alarm_rate=0.1))
    for seed in range(20):
        failed = judge_verdicts(scores=4000, prevalence=0.25, sensitivity=0.8, specificity=0.9, seed=seed)
        rate = corrected_failure_rate(failed, 4000, judge)
        assert rate.refused is None and rate.low is not None and rate.high is not None
        assert rate.low <= 0.25 <= rate.high, (seed, rate)
        assert rate.low <= rate.corrected <= rate.high  # type: ignore[operator]
        assert abs(rate.observed - 0.275) < 0.03  # type: ignore[operator]  # what the raw rate claims


def test_corrected_rate_is_clipped_and_refused_with_reasons() -> None:
    judge = agreement(judged_labels(failures=50, passes=50, miss_rate=0.2, false_alarm_rate=0.1))
    below = corrected_failure_rate(1, 100, judge)  # 1% observed, below the false-alarm rate
    assert below.corrected == 0.0 and below.low == 0.0
    few = agreement(judged_labels(failures=4, passes=50, miss_rate=0.2, false_alarm_rate=0.1))
    refused = corrected_failure_rate(10, 100, few, min_labels=10)
    assert refused.corrected is None and refused.observed == 0.1
    assert refused.refused == ("too few labels: 4 failure(s) and 50 pass(es) labeled, at least 10 of each "
                               "needed")
    coin = agreement([DatasetLabel("d", str(i), "s", HumanLabel.FAIL if i < 10 else HumanLabel.PASS,
                                   judge_passed=i % 2 == 0) for i in range(20)])  # Se 0.5, Sp 0.5
    assert corrected_failure_rate(10, 100, coin).refused == (
        "the judge is no better than chance (sensitivity 0.500 + specificity 0.500 <= 1)")
    assert corrected_failure_rate(0, 0, judge).refused == "no scores in the window"
    shaky = agreement(judged_labels(failures=10, passes=10, miss_rate=0.3, false_alarm_rate=0.3, seed=3))
    wide = corrected_failure_rate(40, 100, shaky)  # Se 0.7, Sp 0.7 from 10 labels each
    assert wide.corrected == pytest.approx(0.25) and (wide.low, wide.high) == (0.0, 1.0)  # cannot be bounded
