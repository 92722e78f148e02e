"""The LLM agent judge: scores a whole trajectory against a rubric.

It renders the trajectory compactly (:mod:`~evaluator_service.scoring.trajectory.rendering`: the tree of
agent, LLM and tool steps with arguments, results and errors, capped in size without losing the structure)
and asks the judge for ``{"score": <0..1>, "reason": "..."}`` through the evaluator's LLM client, parsed like
the span judges' answers (:func:`~evaluator_service.scoring.builtin.judges.parse_judgement`).

Options: ``rubric`` (what to check; default :data:`DEFAULT_RUBRIC`: tool choice, instruction adherence, goal
completion), ``max_chars`` (the rendering's size cap, default 24,000), ``max_value_chars`` (one value's cap,
default 300). The model is the YAML entry's (or the ``judge:`` default); a built-in used by its type name
takes the model the trajectory request names (``TraceScorerConfig(model=...)``), if any.
"""

from __future__ import annotations

import dataclasses

from judgeval.data.trace import Trace
from judgeval.protocol.trajectory_request import TrajectoryRequest

from evaluator_service.scoring.builtin.bounded import run_bounded
from evaluator_service.scoring.builtin.judges import ANSWER_FORMAT, parse_judgement
from evaluator_service.scoring.contract import InvalidExampleError, ScoreOutcome
from evaluator_service.scoring.llm_client import LLMClient
from evaluator_service.scoring.settings import ScorerConfig
from evaluator_service.scoring.trajectory.base import TrajectoryBuiltinScorer
from evaluator_service.scoring.trajectory.deterministic import INLINE_SPANS
from evaluator_service.scoring.trajectory.rendering import RenderLimits, render_trajectory

DEFAULT_RUBRIC = (
    "- Tool choice: did the agent pick the right tools for each step, with sensible arguments, and avoid "
    "needless or repeated calls?\n"
    "- Instruction adherence: did it follow the user's instructions and its own instructions?\n"
    "- Goal completion: does the final output accomplish what the user asked for?"
)
"""What the agent judge checks when the scorer sets no ``rubric``."""

PROMPT_HEAD = (
    "You judge an AI agent's whole trajectory: every step it took (agents, LLM calls, tool calls with their "
    "arguments and results, errors), shown as a tree below, between the user's first input and the agent's "
    "final output. Text and steps marked with … were left out for length.\n\nRubric:\n"
)

MAX_MODELS = 8
"""Distinct judge models one agent judge keeps clients for (requests name models; spans are input)."""


def judge_prompt(rubric: str, rendering: str) -> str:
    """The prompt for ``rendering`` judged against ``rubric`` (no formatting: both may contain braces)."""
    return (f"{PROMPT_HEAD}{rubric}\n\n{rendering}\n\nScore from 0 (fails the rubric) to 1 (fully meets "
            f"it). {ANSWER_FORMAT.format()}")


class AgentJudgeScorer(TrajectoryBuiltinScorer):
    """An LLM judge of a whole trajectory (see the module docstring)."""

    calls_judge = True
    """Each attempt is one LLM call: the runner counts it against the judge-call bounds."""

    def __init__(self, config: ScorerConfig, *, model_from_request: bool = False) -> None:
        super().__init__(config)
        self._model_from_request = model_from_request
        self._clients: dict[str, LLMClient] = {}

    def client(self, request: TrajectoryRequest) -> LLMClient:
        """The judge client for the request's model (the scorer's own unless it takes the request's)."""
        model = (request.model if self._model_from_request and request.model else None) \
            or self.config.model or "gpt-4o-mini"
        client = self._clients.get(model)
        if client is None:
            if len(self._clients) >= MAX_MODELS:
                raise InvalidExampleError(
                    f"the request names judge model {model[:80]!r}, but {self.name} already uses "
                    f"{MAX_MODELS} models; configure a scorer with a fixed model instead")
            client = self._clients[model] = LLMClient(model, self.config.base_url, self.config.api_key_env,
                                                      self.config.prices.get(model))
        return client

    def render(self, trajectory: Trace, request: TrajectoryRequest) -> str:
        """The whole prompt for ``trajectory`` (also what tests pin)."""
        options = self.options(request)
        defaults = RenderLimits()
        limits = RenderLimits(max_chars=int(options.get("max_chars", defaults.max_chars)),
                              max_value_chars=int(options.get("max_value_chars", defaults.max_value_chars)))
        rubric = str(options.get("rubric") or DEFAULT_RUBRIC)
        return judge_prompt(rubric, render_trajectory(trajectory, limits))

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        client = self.client(request)
        if len(trajectory.trace_spans) <= INLINE_SPANS:
            prompt = self.render(trajectory, request)
        else:
            prompt = await run_bounded(lambda: self.render(trajectory, request), "rendering the trajectory")
        answer = await client.answer(prompt)
        return dataclasses.replace(parse_judgement(answer.text), cost_usd=answer.cost_usd)

    async def aclose(self) -> None:
        """Close the judge clients' HTTP connections."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
