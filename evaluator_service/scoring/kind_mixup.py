"""What a request gets when it names a scorer of the other kind: a clear ``wrong_kind`` error.

Span scorers (``ExampleScorer`` uploads, the span built-ins) score one span's example; trajectory scorers
(``TraceScorer`` uploads, the trajectory built-ins) score a whole trace or session. Every scorer source
answers a name of the other kind with a :class:`MisdirectedScorer` instead of ``None``, so the request fails
saying what the scorer is and how to request it, rather than "no scorer named ...".
"""

from __future__ import annotations

from typing import Any

from judgeval.data.trace import Trace
from judgeval.protocol.evaluation_request import EvaluationRequest
from judgeval.protocol.trajectory_request import TrajectoryRequest

from evaluator_service.scoring.contract import ScoreOutcome, ScorerKindError


def trajectory_scorer_on_span(name: str, what: str) -> str:
    """The message for a span request naming a trajectory scorer (``what`` says which one)."""
    return (f"scorer {name!r} is a trajectory scorer ({what}): it scores a whole trace or session, not one "
            "span; request it on the span that bounds the trajectory "
            "(@observe(scorer_config=TraceScorerConfig(...))) or in a rule with scope: trace or scope: "
            "session, not with async_evaluate or a span rule")


def span_scorer_on_trajectory(name: str, what: str) -> str:
    """The message for a trajectory request naming a span scorer (``what`` says which)."""
    return (f"scorer {name!r} is a span scorer ({what}): it scores one span's example, not a trajectory; "
            "request it with async_evaluate or a span rule, or score trajectories with a TraceScorer or a "
            "built-in trajectory scorer")


class MisdirectedScorer:
    """Stands for a scorer of the other kind; both scoring methods raise :class:`ScorerKindError`."""

    inline = True
    """It never awaits: the span runner may call it directly."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        raise ScorerKindError(self.message)

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        raise ScorerKindError(self.message)
