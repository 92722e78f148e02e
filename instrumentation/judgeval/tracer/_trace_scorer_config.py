"""``TraceScorerConfig``: which trace scorer ``@observe(scorer_config=...)`` requests on the span it creates.

The config is validated once, when it is built (a wrong type or a rate outside [0, 1] raises
:class:`InvalidTraceScorerConfig` at import time of the decorated function, not in production later). Per
call, :meth:`TraceScorerConfig.wanted` decides: the deterministic trace-id rule of
:mod:`judgeval.protocol.sampling` (the one ``async_evaluate`` and the evaluator use), then ``run_condition``
on the call's arguments. :meth:`TraceScorerConfig.request_text` is the ``judgeval.trajectory.requests`` value,
its scorer part cached per scorer instance as the ``async_evaluate`` fast path does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from judgeval.errors import JudgevalError
from judgeval.protocol.sampling import is_sampled
from judgeval.protocol.trajectory_request import TRAJECTORY_SCOPES, request_json
from judgeval.scorers.trace_scorer import TraceScorer
from judgeval.tracer._evaluation_payload import scorer_json


class InvalidTraceScorerConfig(JudgevalError, ValueError):
    """A ``TraceScorerConfig`` was built with a value that cannot work; the message says which and why."""


@dataclass(frozen=True, slots=True)
class TraceScorerConfig:
    """A trace scorer requested on the span ``@judgment.observe(scorer_config=...)`` creates.

    That span bounds the trajectory: it and every span started below it, in this process and (through W3C
    trace context) in the services it calls. ``sampling_rate`` samples deterministically from the trace id,
    like ``async_evaluate``. ``model`` names the judge model for scorers that call one (``None``: the
    evaluator's default). ``run_condition(*args, **kwargs) -> bool``, if given, is called with the decorated
    function's arguments (``self`` included for methods) and decides per call; if it raises, the call runs
    unscored and the error is logged. ``scope="session"`` asks for the whole session the span belongs to
    (see ``Tracer.session``) instead of this trace.
    """

    scorer: TraceScorer
    sampling_rate: float = 1.0
    model: str | None = None
    run_condition: Callable[..., bool] | None = None
    scope: str = "trace"

    def __post_init__(self) -> None:
        if not isinstance(self.scorer, TraceScorer):
            raise InvalidTraceScorerConfig(
                "TraceScorerConfig(scorer=...) needs a TraceScorer instance, got "
                f"{type(self.scorer).__name__}; "
                "subclass judgeval.scorers.trace_scorer.TraceScorer"
            )
        rate = self.sampling_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or not (
            0.0 <= rate <= 1.0
        ):
            raise InvalidTraceScorerConfig(
                f"TraceScorerConfig(sampling_rate={rate!r}) must be a number between 0.0 and 1.0"
            )
        if self.model is not None and not isinstance(self.model, str):
            raise InvalidTraceScorerConfig(
                f"TraceScorerConfig(model={self.model!r}) must be a model name (str) or None"
            )
        if self.run_condition is not None and not callable(self.run_condition):
            raise InvalidTraceScorerConfig(
                "TraceScorerConfig(run_condition=...) must be a callable taking the decorated function's "
                f"arguments, got {type(self.run_condition).__name__}"
            )
        if self.scope not in TRAJECTORY_SCOPES:
            raise InvalidTraceScorerConfig(
                f"TraceScorerConfig(scope={self.scope!r}) must be one of {', '.join(TRAJECTORY_SCOPES)}"
            )
        if self.scope != "trace" and not self.scorer.server_hosted:
            raise InvalidTraceScorerConfig(
                f"TraceScorerConfig(scope={self.scope!r}) needs a server_hosted=True scorer: a session spans "
                "traces and processes only the evaluator sees; this process can score its own trace only"
            )

    @property
    def server_hosted(self) -> bool:
        """Whether the evaluator scores the trajectory (else this process does, after the span ends)."""
        return bool(self.scorer.server_hosted)

    def wanted(self, trace_id: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Whether this call of the decorated function (in trace ``trace_id``) is scored.

        A ``run_condition`` that raises propagates: the caller reports it as judgeval's error (logged, the
        call runs unscored), never as the user's call's.
        """
        if not is_sampled(trace_id, self.sampling_rate):
            return False
        condition = self.run_condition
        return condition is None or bool(condition(*args, **kwargs))

    def request_text(self) -> str:
        """The ``judgeval.trajectory.requests`` attribute value asking for this scorer (a one-item array)."""
        scorer_text = scorer_json(self.scorer)
        return f"[{request_json(scorer_text, self.scope, self.sampling_rate, self.model)}]"
