"""What every built-in trajectory scorer shares: its config and its merged, validated options."""

from __future__ import annotations

import json
from typing import Any

from judgeval import semconv
from judgeval.data.trace import Trace, TraceSpan
from judgeval.protocol.evaluation_request import EvaluationRequest
from judgeval.protocol.trajectory_request import TrajectoryRequest

from evaluator_service.scoring.builtin.options import OptionError
from evaluator_service.scoring.contract import InvalidExampleError, ScoreOutcome, ScorerKindError
from evaluator_service.scoring.kind_mixup import trajectory_scorer_on_span
from evaluator_service.scoring.settings import ScorerConfig
from evaluator_service.scoring.trajectory.options import validate_trajectory_options


def _attribute_value(span: TraceSpan, key: str) -> Any:
    value = span.span_attributes.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def tool_arguments(span: TraceSpan) -> Any:
    """A tool call's arguments: the span's recorded input, else OTel GenAI's ``gen_ai.tool.call.arguments``
    (decoded when it is JSON); ``None`` when neither was recorded."""
    if span.inputs is not None:
        return span.inputs
    return _attribute_value(span, semconv.GEN_AI_TOOL_CALL_ARGUMENTS)


def tool_result(span: TraceSpan) -> Any:
    """A tool call's result: the span's recorded output, else ``gen_ai.tool.call.result``."""
    if span.output is not None:
        return span.output
    return _attribute_value(span, semconv.GEN_AI_TOOL_CALL_RESULT)


def span_failure(span: TraceSpan) -> str | None:
    """Why the span failed, or ``None``: its error (status or exception), else its ``error.type``."""
    if span.error:
        return span.error
    error_type = span.span_attributes.get(semconv.ERROR_TYPE)
    return str(error_type) if error_type else None


class TrajectoryBuiltinScorer:
    """Base of the built-in trajectory scorers (deterministic ones and the agent judge)."""

    calls_judge = False
    """True for scorers whose every attempt is one LLM call (the runner counts it against its bounds)."""

    def __init__(self, config: ScorerConfig) -> None:
        self.config = config
        self.name = config.name
        self._own_options: dict[str, Any] | None = None
        """The YAML options once validated: what every request without its own ``scorer.config`` gets."""

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        """Score one trajectory; subclasses implement it."""
        raise NotImplementedError

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        """A span request naming this scorer: refused with a ``wrong_kind`` error."""
        raise ScorerKindError(trajectory_scorer_on_span(self.name, f"the built-in {self.config.type}"))

    def options(self, request: TrajectoryRequest) -> dict[str, Any]:
        """YAML options over the request's ``scorer.config`` (YAML wins: operators decide), validated.

        The result is shared between calls: treat it as read-only."""
        if request.scorer.config:
            return self._validated({**request.scorer.config, **self.config.options})
        if self._own_options is None:  # validated once, not per trajectory (a failure is not cached)
            self._own_options = self._validated(dict(self.config.options))
        return self._own_options

    def _validated(self, options: dict[str, Any]) -> dict[str, Any]:
        try:
            validate_trajectory_options(self.config.type, options)
        except OptionError as exc:
            raise InvalidExampleError(f"scorer config {exc.field}: {exc.message}") from None
        return options
