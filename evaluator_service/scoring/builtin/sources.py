"""Scorer sources for the built-ins: YAML-configured scorers by their name, and built-in types by type name.

A request for ``faithfulness`` with no YAML entry of that name gets the built-in with the ``judge:``
defaults (model, base URL, key variable); a YAML entry ``{name: strict_faithfulness, type: faithfulness,
model: ...}`` makes ``strict_faithfulness`` resolvable too. Scorer objects are built once and cached:
they hold the judge's HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from judgeval.protocol.evaluation_request import ScorerRef

from evaluator_service.scoring.builtin import catalog
from evaluator_service.scoring.builtin.base import BuiltinScorer
from evaluator_service.scoring.builtin.deterministic import (
    JsonSchemaScorer,
    KeywordScorer,
    RegexScorer,
    ToolCallErrorScorer,
)
from evaluator_service.scoring.builtin.judges import (
    AnswerRelevancyScorer,
    FaithfulnessScorer,
    InstructionAdherenceScorer,
    JudgeScorer,
    PromptJudgeScorer,
)
from evaluator_service.scoring.builtin.pii import PiiScorer
from evaluator_service.scoring.contract import Scorer
from evaluator_service.scoring.kind_mixup import MisdirectedScorer, trajectory_scorer_on_span
from evaluator_service.scoring.llm_client import LLMClient
from evaluator_service.scoring.settings import JudgeConfig, ScorerConfig

_JUDGES: dict[str, type[JudgeScorer]] = {
    catalog.ANSWER_RELEVANCY: AnswerRelevancyScorer,
    catalog.FAITHFULNESS: FaithfulnessScorer,
    catalog.INSTRUCTION_ADHERENCE: InstructionAdherenceScorer,
    catalog.PROMPT_JUDGE: PromptJudgeScorer,
}
_DETERMINISTIC: dict[str, type[BuiltinScorer]] = {
    catalog.REGEX: RegexScorer,
    catalog.KEYWORD: KeywordScorer,
    catalog.JSON_SCHEMA: JsonSchemaScorer,
    catalog.PII: PiiScorer,
    catalog.TOOL_CALL_ERROR: ToolCallErrorScorer,
}


def build_scorer(config: ScorerConfig) -> BuiltinScorer:
    """A built-in scorer object for one (validated) scorer config."""
    judge = _JUDGES.get(config.type)
    if judge is not None:
        model = config.model or "gpt-4o-mini"
        client = LLMClient(model, config.base_url, config.api_key_env, config.prices.get(model))
        return judge(config, client)
    return _DETERMINISTIC[config.type](config)


async def close_scorers(scorers: Iterable[BuiltinScorer]) -> None:
    """Release the judges' HTTP clients."""
    for scorer in scorers:
        if isinstance(scorer, JudgeScorer):
            await scorer.client.aclose()


class ConfiguredScorerSource:
    """Resolves the names of the YAML ``scorers:`` entries (those of a trajectory type to a scorer that
    refuses spans with a ``wrong_kind`` error)."""

    def __init__(self, configs: Sequence[ScorerConfig]) -> None:
        self._scorers = {c.name: build_scorer(c) for c in configs if c.type not in catalog.TRAJECTORY_TYPES}
        self._misdirected = {
            c.name: MisdirectedScorer(c.name, trajectory_scorer_on_span(c.name, f"a {c.type} scorer"))
            for c in configs if c.type in catalog.TRAJECTORY_TYPES
        }

    def resolve(self, ref: ScorerRef) -> Scorer | None:
        return self._scorers.get(ref.name) or self._misdirected.get(ref.name)

    async def aclose(self) -> None:
        await close_scorers(self._scorers.values())


class BuiltinScorerSource:
    """Resolves built-in type names (``faithfulness``, ``regex``, ...) with default settings."""

    def __init__(self, judge: JudgeConfig) -> None:
        self._judge = judge
        self._scorers: dict[str, BuiltinScorer] = {}

    def resolve(self, ref: ScorerRef) -> Scorer | None:
        if ref.name in catalog.TRAJECTORY_TYPES:
            message = trajectory_scorer_on_span(ref.name, f"the built-in {ref.name}")
            return MisdirectedScorer(ref.name, message)
        if ref.name not in catalog.BUILTIN_TYPES:
            return None
        scorer = self._scorers.get(ref.name)
        if scorer is None:
            config = ScorerConfig(
                name=ref.name, type=ref.name, model=self._judge.model, base_url=self._judge.base_url,
                api_key_env=self._judge.api_key_env, prices=self._judge.prices,
            )
            scorer = self._scorers[ref.name] = build_scorer(config)
        return scorer

    async def aclose(self) -> None:
        await close_scorers(self._scorers.values())
