"""A judge's agreement with people's labels: the confusion counts, the true-positive and true-negative rates
with Wilson score confidence intervals, and Cohen's kappa.

Positive = failure: a true positive is an interaction a person labeled ``fail`` and the judge failed. Labels
on records the judge produced no verdict for (a scoring error) are counted apart (``unjudged``) and left out
of every rate. The Wilson interval comes from scipy (``binomtest(...).proportion_ci(method="wilson")``);
kappa is written out (observed against chance agreement of the two raters' marginals).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scipy.stats import binomtest

from evaluator_service.state.dataset_labels import DatasetLabel, HumanLabel

DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Proportion:
    """``successes`` of ``trials`` with its Wilson score interval (``estimate`` None when no trials)."""

    successes: int
    trials: int
    estimate: float | None
    low: float | None
    high: float | None


def wilson(successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE) -> Proportion:
    """The share ``successes / trials`` with its Wilson score interval at ``confidence``."""
    if trials == 0:
        return Proportion(0, 0, None, None, None)
    ci = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return Proportion(successes, trials, successes / trials, float(ci.low), float(ci.high))


@dataclass(frozen=True, slots=True)
class Agreement:
    """How a judge's verdicts compare with people's labels on the same records."""

    true_positives: int
    """People: fail; judge: fail."""
    false_negatives: int
    """People: fail; judge: pass (a failure the judge missed)."""
    true_negatives: int
    """People: pass; judge: pass."""
    false_positives: int
    """People: pass; judge: fail (a false alarm)."""
    unjudged: int
    """Labeled records the judge gave no verdict on (left out of every rate)."""
    confidence: float
    sensitivity: Proportion
    """True-positive rate: of people's failures, the share the judge failed."""
    specificity: Proportion
    """True-negative rate: of people's passes, the share the judge passed."""
    kappa: float | None
    """Cohen's kappa (1: perfect, 0: chance); ``None`` when undefined (no labels, or both always agree on
    one class so chance agreement is 1)."""

    @property
    def labeled(self) -> int:
        """Labels compared with a verdict."""
        return self.true_positives + self.false_negatives + self.true_negatives + self.false_positives

    @property
    def human_failures(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def human_passes(self) -> int:
        return self.true_negatives + self.false_positives


def agreement(labels: Iterable[DatasetLabel], confidence: float = DEFAULT_CONFIDENCE) -> Agreement:
    """Compare each label with the judge's verdict stored beside it."""
    tp = fn = tn = fp = unjudged = 0
    for label in labels:
        if label.judge_passed is None:
            unjudged += 1
        elif label.label == HumanLabel.FAIL:
            tp, fn = (tp + 1, fn) if not label.judge_passed else (tp, fn + 1)
        else:
            tn, fp = (tn + 1, fp) if label.judge_passed else (tn, fp + 1)
    return Agreement(tp, fn, tn, fp, unjudged, confidence, wilson(tp, tp + fn, confidence),
                     wilson(tn, tn + fp, confidence), cohens_kappa(tp, fn, tn, fp))


def cohens_kappa(tp: int, fn: int, tn: int, fp: int) -> float | None:
    """(observed - chance agreement) / (1 - chance), the chance from each rater's own fail/pass shares."""
    n = tp + fn + tn + fp
    if n == 0:
        return None
    observed = (tp + tn) / n
    chance = ((tp + fn) * (tp + fp) + (tn + fp) * (tn + fn)) / (n * n)
    if chance >= 1.0:
        return None
    return (observed - chance) / (1.0 - chance)
