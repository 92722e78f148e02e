"""Scorer versions in shadow: a candidate version scores the same production examples as the current one,
off the scoring path, and the pairs are kept for ``judgeval scorers compare`` before a promotion.

:mod:`~evaluator_service.shadow.settings` is the ``shadow:`` config section;
:mod:`~evaluator_service.shadow.scoring` is the interaction sink that runs and stores shadow scorings.
(No imports here: the config module imports the settings without pulling in the sandbox.)
"""
