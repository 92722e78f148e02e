"""Scorers: code that turns an :class:`~judgeval.data.Example` (``ExampleScorer``) or a whole trajectory
(``TraceScorer``) into a score."""

from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.scorers.trace_scorer import TraceScorer

__all__ = ["ExampleScorer", "TraceScorer"]
