"""``TraceScorer``: the base class of scorers of a whole trajectory (a trace or a session).

Request one on the span that bounds the trajectory, usually the agent's entry point::

    @judgment.observe(span_type="function", scorer_config=TraceScorerConfig(scorer=ToolLoopScorer()))
    def run(self, task): ...

``server_hosted=True`` subclasses are uploaded with ``judgeval upload_scorer file.py requirements.txt``
and run in the evaluator's sandbox; ``server_hosted=False`` ones run in the agent process, off the
caller's thread, once the bounding span has ended.
"""

from __future__ import annotations

from typing import Any

from judgeval.scorers.scorer_base import ScorerBase


class TraceScorer(ScorerBase):
    """A trace scorer: subclass it and implement ``async def a_score_trace(self, trace) -> float``.

    ``trace`` is a :class:`judgeval.data.trace.Trace`: ``trace.trace_spans`` in start order, with helpers such
    as ``trace.tool_calls()`` and ``trace.llm_calls()``. The fields mean what they mean on
    :class:`~judgeval.scorers.example_scorer.ExampleScorer`: ``name`` defaults to the class name, a score
    ``>= threshold`` passes, set ``self.reason`` inside ``a_score_trace`` to explain it (each run works on
    its own copy of the scorer). Extra public fields of a subclass are its configuration and travel with
    every trajectory request.
    """

    async def a_score_trace(self, trace: Any) -> float:
        """Score ``trace``; return a number (``>= threshold`` passes). Subclasses must override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `async def a_score_trace(self, trace) -> float`"
        )
