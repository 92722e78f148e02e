"""How far to trust the judge: each scorer's agreement with people's labels, and failure rates corrected
for the judge's measured error (the Rogan-Gladen estimator).

"Positive" means *failure* throughout: the true-positive rate (sensitivity) is the share of interactions
people labeled ``fail`` that the judge also failed; the true-negative rate (specificity) the share of
people's ``pass`` labels the judge passed. :mod:`~evaluator_service.calibration.agreement` computes both
with Wilson score intervals and Cohen's kappa, :mod:`~evaluator_service.calibration.corrected_rate` the
corrected failure rate with its interval.
"""
