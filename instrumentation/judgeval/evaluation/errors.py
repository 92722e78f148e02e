"""The errors of a replay, under :class:`~judgeval.errors.JudgevalError`.

``EvaluationError`` is the replay's own branch: a replay that could not run (bad input, an unknown
scorer, an unreachable evaluator). A case that could not be scored is never an exception: it is counted
and listed in the report.
"""

from __future__ import annotations

from judgeval.errors import JudgevalError


class EvaluationError(JudgevalError):
    """The replay could not run; the message says why and what to do. ``bad_input`` is true when the
    caller's input (a records file, an agent reference, an option) is at fault rather than the evaluator."""

    def __init__(self, message: str, *, bad_input: bool = False) -> None:
        super().__init__(message)
        self.bad_input = bad_input
