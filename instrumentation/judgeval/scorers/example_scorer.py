"""``ExampleScorer``: the base class of custom scorers (``judgeval upload_scorer`` ships subclasses)."""

from __future__ import annotations

from typing import Any

from judgeval.scorers.scorer_base import ScorerBase


class ExampleScorer(ScorerBase):
    """A scorer: subclass it and implement ``async def a_score_example(self, example) -> float``.

    ``name`` defaults to the class name; a score ``>= threshold`` passes. ``server_hosted=True`` scorers run
    in the evaluator service (uploaded with ``judgeval upload_scorer``); others run in a background thread
    of the agent process. Set ``self.reason`` inside ``a_score_example`` to explain the score; each
    evaluation runs on its own copy of the scorer, so concurrent runs don't overwrite each other's reason.
    Extra public fields of a subclass are its configuration and travel with every evaluation request.
    """

    async def a_score_example(self, example: Any) -> float:
        """Score ``example``; return a number (``>= threshold`` passes). Subclasses must override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `async def a_score_example(self, example) -> float`"
        )


BASE_FIELDS = frozenset(ExampleScorer.model_fields)
"""Fields every scorer has; a subclass's other public fields are its configuration."""
