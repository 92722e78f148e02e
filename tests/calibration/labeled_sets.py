"""Labeled sets with a known judge error: people's labels as the truth, and a judge that misses a known
share of failures and false-alarms on a known share of passes (seeded, so every run draws the same set)."""

from __future__ import annotations

import random

from evaluator_service.state.dataset_labels import DatasetLabel, HumanLabel


def judged_labels(*, failures: int, passes: int, miss_rate: float, false_alarm_rate: float, seed: int = 7,
                  scorer: str = "polite", dataset: str = "support", exact: bool = True) -> list[DatasetLabel]:
    """``failures`` + ``passes`` labels; the judge passes a ``miss_rate`` share of the failures and fails a
    ``false_alarm_rate`` share of the passes (true sensitivity ``1 - miss_rate``, specificity
    ``1 - false_alarm_rate``): exactly that share of randomly chosen records, or (``exact=False``) each
    record flipped independently with that probability, as a sample of a judge with that error rate."""
    draw = random.Random(seed)
    flips = (set(draw.sample(range(failures), round(miss_rate * failures)))
             | {failures + i for i in draw.sample(range(passes), round(false_alarm_rate * passes))})
    labels = []
    for i in range(failures + passes):
        human_fails = i < failures
        flipped = (i in flips) if exact else draw.random() < (miss_rate if human_fails else false_alarm_rate)
        judge_passed = human_fails == flipped
        labels.append(DatasetLabel(dataset, f"{i:032x}:{i:016x}:{scorer}", scorer,
                                   HumanLabel.FAIL if human_fails else HumanLabel.PASS, judge_passed,
                                   "ann", "", float(i)))
    return labels


def judge_verdicts(*, scores: int, prevalence: float, sensitivity: float, specificity: float,
                   seed: int = 11) -> int:
    """How many of ``scores`` interactions (a true failure share of ``prevalence``) the judge fails."""
    draw = random.Random(seed)
    failed = 0
    for _ in range(scores):
        truly_fails = draw.random() < prevalence
        failed += draw.random() < (sensitivity if truly_fails else 1 - specificity)
    return failed
