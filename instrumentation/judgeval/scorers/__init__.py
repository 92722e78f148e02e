"""Scorers: code that turns an :class:`~judgeval.data.Example` into a score."""

from judgeval.scorers.example_scorer import ExampleScorer

__all__ = ["ExampleScorer"]
