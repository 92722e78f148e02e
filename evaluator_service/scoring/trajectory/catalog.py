"""``TrajectoryScorers``: name → trajectory scorer, over YAML-configured scorers, the built-in trajectory
types and extra sources (uploaded ``TraceScorer`` classes).

A trajectory request's scorer name resolves, first answer wins, to

1. a YAML ``scorers:`` entry of that name whose ``type`` is a trajectory type (``tool_loop``,
   ``agent_judge``, ...), with its options, model and limits;
2. a built-in trajectory type by its type name, with default options (plus the request's ``scorer.config``)
   and the ``judge:`` defaults;
3. each extra source in order (the evaluator passes the uploaded trace scorers' source, which must be last).

A name of the other kind (a YAML entry or built-in that scores spans) resolves to a scorer that fails with a
``wrong_kind`` error saying so, as the span chain does for trajectory scorers. Scorer objects are built once
and cached: judges hold HTTP clients, which :meth:`TrajectoryScorers.aclose` closes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from judgeval.protocol.evaluation_request import ScorerRef

from evaluator_service.scoring.builtin import catalog
from evaluator_service.scoring.contract import TrajectoryScorer, TrajectoryScorerSource
from evaluator_service.scoring.kind_mixup import MisdirectedScorer, span_scorer_on_trajectory
from evaluator_service.scoring.settings import JudgeConfig, ScorerConfig
from evaluator_service.scoring.trajectory.agent_judge import AgentJudgeScorer
from evaluator_service.scoring.trajectory.base import TrajectoryBuiltinScorer
from evaluator_service.scoring.trajectory.deterministic import (
    LatencyBudgetScorer,
    LlmCallBudgetScorer,
    StepBudgetScorer,
    TokenBudgetScorer,
    ToolErrorRateScorer,
    ToolLoopScorer,
)

logger = logging.getLogger(__name__)

_DETERMINISTIC: dict[str, type[TrajectoryBuiltinScorer]] = {
    catalog.TOOL_LOOP: ToolLoopScorer,
    catalog.TOOL_ERROR_RATE: ToolErrorRateScorer,
    catalog.STEP_BUDGET: StepBudgetScorer,
    catalog.LLM_CALL_BUDGET: LlmCallBudgetScorer,
    catalog.LATENCY_BUDGET: LatencyBudgetScorer,
    catalog.TOKEN_BUDGET: TokenBudgetScorer,
}


def build_trajectory_scorer(config: ScorerConfig, *, model_from_request: bool = False
                            ) -> TrajectoryBuiltinScorer:
    """A built-in trajectory scorer for one (validated) scorer config of a trajectory type."""
    if config.type == catalog.AGENT_JUDGE:
        return AgentJudgeScorer(config, model_from_request=model_from_request)
    return _DETERMINISTIC[config.type](config)


class TrajectoryScorers:
    """The evaluator's :class:`~evaluator_service.scoring.contract.TrajectoryScorerSource` (module doc)."""

    def __init__(self, scorers: Sequence[ScorerConfig], judge: JudgeConfig,
                 sources: Sequence[TrajectoryScorerSource] = ()) -> None:
        self._judge = judge
        self._configured: dict[str, TrajectoryScorer] = {}
        for config in scorers:
            if config.type in catalog.TRAJECTORY_TYPES:
                self._configured[config.name] = build_trajectory_scorer(config)
            else:
                self._configured[config.name] = MisdirectedScorer(config.name, span_scorer_on_trajectory(
                    config.name, f"a {config.type} scorer from the evaluator config"))
        self._builtins: dict[str, TrajectoryScorer] = {}
        self.sources = list(sources)

    def resolve(self, ref: ScorerRef) -> TrajectoryScorer | None:
        configured = self._configured.get(ref.name)
        if configured is not None:
            return configured
        builtin = self._builtin(ref.name)
        if builtin is not None:
            return builtin
        for source in self.sources:
            found = source.resolve(ref)
            if found is not None:
                return found
        return None

    def _builtin(self, name: str) -> TrajectoryScorer | None:
        scorer = self._builtins.get(name)
        if scorer is not None:
            return scorer
        if name in catalog.TRAJECTORY_TYPES:
            judge = self._judge
            config = ScorerConfig(name=name, type=name, model=judge.model, base_url=judge.base_url,
                                  api_key_env=judge.api_key_env)
            scorer = build_trajectory_scorer(config, model_from_request=True)
        elif name in catalog.BUILTIN_TYPES:
            scorer = MisdirectedScorer(name, span_scorer_on_trajectory(name, f"the built-in {name}"))
        else:
            return None
        self._builtins[name] = scorer
        return scorer

    async def aclose(self) -> None:
        """Close the agent judges' HTTP clients (the extra sources' lifecycle is their owners')."""
        for scorer in [*self._configured.values(), *self._builtins.values()]:
            if isinstance(scorer, AgentJudgeScorer):
                try:
                    await scorer.aclose()
                except Exception:  # one judge failing to close must not keep the others open
                    logger.exception("closing trajectory scorer %r failed", scorer.name)
