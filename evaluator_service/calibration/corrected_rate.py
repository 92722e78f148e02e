"""The Rogan-Gladen corrected failure rate: the observed failure rate corrected for the judge's measured
sensitivity and specificity.

With ``p`` the share of scores the judge failed, ``Se`` its true-positive rate and ``Sp`` its true-negative
rate (positive = failure, see :mod:`~evaluator_service.calibration.agreement`)::

    corrected = (p + Sp - 1) / (Se + Sp - 1)        clipped to [0, 1]

Refused (with the reason) when there are no scores, fewer than ``min_labels`` people's failures or passes
behind Se and Sp, or ``Se + Sp <= 1`` (a judge no better than chance carries no information to correct with).

The interval propagates the three Wilson intervals (of ``p``, ``Se`` and ``Sp``), each taken at confidence
``1 - (1 - confidence) / 3`` so that all three hold together with at least ``confidence`` (Bonferroni). The
estimator is monotone in each of the three inputs when the other two are fixed, so its extremes over the
box of the three intervals lie at the box's corners: the interval is the smallest and largest corner value,
clipped to [0, 1]. When the box reaches ``Se + Sp <= 1`` the rate cannot be bounded and the interval is the
whole [0, 1]. It is conservative: a delta-method interval would be narrower but assumes normality exactly
where labels are few.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from evaluator_service.calibration.agreement import Agreement, wilson

DEFAULT_MIN_LABELS = 10
"""People's labels of each kind (fail and pass) needed before a corrected rate is reported."""


@dataclass(frozen=True, slots=True)
class CorrectedRate:
    """The observed and corrected failure rates of one scorer over a window, or why there is none."""

    scores: int
    failures: int
    observed: float | None
    corrected: float | None
    low: float | None
    high: float | None
    refused: str | None = None
    """Why no corrected rate is given (``None`` when it is)."""


def rogan_gladen(p: float, sensitivity: float, specificity: float) -> float:
    """(p + Sp - 1) / (Se + Sp - 1), unclipped; ``ValueError`` when Se + Sp <= 1."""
    youden = sensitivity + specificity - 1.0
    if youden <= 0:
        raise ValueError(f"sensitivity + specificity must exceed 1, got {sensitivity + specificity:g}")
    return (p + specificity - 1.0) / youden


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def corrected_failure_rate(failures: int, scores: int, judge: Agreement,
                           min_labels: int = DEFAULT_MIN_LABELS) -> CorrectedRate:
    """The corrected rate of ``failures`` among ``scores`` given the judge's measured ``judge`` agreement."""
    observed = failures / scores if scores else None

    def refuse(reason: str) -> CorrectedRate:
        return CorrectedRate(scores, failures, observed, None, None, None, reason)

    if scores == 0:
        return refuse("no scores in the window")
    if judge.human_failures < min_labels or judge.human_passes < min_labels:
        return refuse(f"too few labels: {judge.human_failures} failure(s) and {judge.human_passes} pass(es) "
                      f"labeled, at least {min_labels} of each needed")
    se, sp = judge.sensitivity.estimate, judge.specificity.estimate
    assert se is not None and sp is not None and observed is not None
    if se + sp <= 1.0:
        return refuse(f"the judge is no better than chance (sensitivity {se:.3f} + specificity {sp:.3f} "
                      "<= 1)")
    corrected = _clip(rogan_gladen(observed, se, sp))
    low, high = _interval(failures, scores, judge)
    return CorrectedRate(scores, failures, observed, corrected, low, high)


def _interval(failures: int, scores: int, judge: Agreement) -> tuple[float, float]:
    each = 1.0 - (1.0 - judge.confidence) / 3.0
    p = wilson(failures, scores, each)
    se = wilson(judge.true_positives, judge.human_failures, each)
    sp = wilson(judge.true_negatives, judge.human_passes, each)
    assert None not in (p.low, p.high, se.low, se.high, sp.low, sp.high)
    corners = list(itertools.product((p.low, p.high), (se.low, se.high), (sp.low, sp.high)))
    if any(c_se + c_sp <= 1.0 for _, c_se, c_sp in corners):  # type: ignore[operator]
        return 0.0, 1.0
    values = [rogan_gladen(c_p, c_se, c_sp) for c_p, c_se, c_sp in corners]  # type: ignore[arg-type]
    return _clip(min(values)), _clip(max(values))
