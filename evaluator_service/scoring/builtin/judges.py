"""LLM-judge scorers: answer relevancy, faithfulness, instruction adherence and a generic prompt judge.

Each asks the judge for ``{"score": <0..1>, "reason": "..."}``; :func:`parse_judgement` also accepts a bare
number or a leading YES/NO, because small models and custom templates do not always follow the format.

Example fields (rename with the scorer's ``fields`` mapping):

* ``answer_relevancy``: ``input`` (the question), ``actual_output`` (the answer)
* ``faithfulness``: ``actual_output``, ``context`` or ``retrieval_context`` (string or list of strings)
* ``instruction_adherence``: ``instructions`` (falls back to ``input``), ``actual_output``
* ``prompt_judge``: whatever ``{field}`` placeholders ``options.template`` names (plain names only, see
  :func:`~evaluator_service.scoring.builtin.options.template_fields`); ``options.scale`` (default 1)
  divides the parsed score

A prompt is measured before it is built: one longer than :data:`MAX_PROMPT_CHARS` is never allocated or
sent, and the request ends with a ``limit`` error naming the size.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from judgeval.protocol.evaluation_request import EvaluationRequest

from evaluator_service.scoring.builtin.base import BuiltinScorer, as_text
from evaluator_service.scoring.builtin.options import OptionError, template_fields
from evaluator_service.scoring.builtin.patterns import compile_pattern
from evaluator_service.scoring.contract import (
    InvalidExampleError,
    ScoreOutcome,
    ScorerCrashedError,
    ScorerLimitError,
)
from evaluator_service.scoring.llm_client import LLMClient
from evaluator_service.scoring.settings import ScorerConfig

ANSWER_FORMAT = (
    'Reply with only a JSON object: {{"score": <number from 0 to 1>, "reason": "<one sentence>"}}.'
)

RELEVANCY_PROMPT = (
    "You judge answer relevancy: how directly and completely the answer addresses the question.\n"
    "Question:\n{input}\n\nAnswer:\n{actual_output}\n\n" + ANSWER_FORMAT
)
FAITHFULNESS_PROMPT = (
    "You judge faithfulness: whether every claim in the answer is supported by the context "
    "(1 = fully grounded, 0 = contradicts or invents facts).\n"
    "Context:\n{context}\n\nAnswer:\n{actual_output}\n\n" + ANSWER_FORMAT
)
ADHERENCE_PROMPT = (
    "You judge instruction adherence: how well the response follows the instructions.\n"
    "Instructions:\n{instructions}\n\nResponse:\n{actual_output}\n\n" + ANSWER_FORMAT
)

MAX_PROMPT_CHARS = 100_000
"""Longest prompt a judge sends (about 25k tokens); longer ones fail the request with a ``limit`` error."""

# RE2: a judge's answer can echo text from the span (prompt injection); with Python's re, "\{.*\}" took
# quadratic time on an answer of many "{" (20,000 of them: a second with the event loop frozen).
_NUMBER = compile_pattern(r"-?\d+(?:\.\d+)?")
_JSON_OBJECT = compile_pattern(r"(?s)\{.*\}")


def parse_judgement(answer: str, scale: float = 1.0) -> ScoreOutcome:
    """Read a score (and reason) out of a judge's answer, normalized by ``scale`` to 0..1."""
    reason: str | None = None
    value: float | None = None
    found = _JSON_OBJECT.search(answer)
    if found:
        try:
            data = json.loads(found.group(0))
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("score"), int | float):
            value = float(data["score"])
            reason = str(data["reason"]) if data.get("reason") else None
    head = answer.strip().upper()
    if value is None and head.startswith(("YES", "NO")):
        value = 1.0 if head.startswith("YES") else 0.0
    if value is None and (number := _NUMBER.search(answer)):
        value = float(number.group(0))
    if value is None:
        raise ScorerCrashedError(f"judge answer has no score: {answer[:120]!r}")
    return ScoreOutcome(value=max(0.0, min(1.0, value / scale)), reason=reason or answer.strip()[:500])


def render_prompt(template: str, values: Mapping[str, str], limit: int = MAX_PROMPT_CHARS) -> str:
    """``template`` with its plain ``{name}`` placeholders filled from ``values``, measured first: raises
    :class:`ScorerLimitError` instead of building a prompt longer than ``limit``."""
    try:
        names = template_fields(template)
    except OptionError as exc:
        raise InvalidExampleError(f"scorer config template: {exc.message}") from None
    # The placeholders' own characters count too: an upper bound, known before anything is allocated.
    size = len(template) + sum(len(values[name]) for name in names)
    if size > limit:
        raise ScorerLimitError(
            f"the judge prompt would be about {size} characters (the template's {len(names)} placeholders "
            f"filled), over the limit of {limit}; shorten the example fields or the template")
    return template.format_map(values)


class JudgeScorer(BuiltinScorer):
    """An LLM judge with a fixed prompt over named example fields."""

    prompt = ""
    prompt_fields: tuple[str, ...] = ()
    calls_judge = True
    """Each attempt is one LLM call: the runner counts it against the judge-call bounds."""

    def __init__(self, config: ScorerConfig, client: LLMClient) -> None:
        super().__init__(config)
        self.client = client

    def render(self, example: dict[str, Any], request: EvaluationRequest) -> str:
        return render_prompt(self.prompt, {name: self.text(example, name) for name in self.prompt_fields})

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        answer = await self.client.answer(self.render(example, request))
        return dataclasses.replace(parse_judgement(answer.text), cost_usd=answer.cost_usd)


class AnswerRelevancyScorer(JudgeScorer):
    """Does the answer address the question?"""

    prompt = RELEVANCY_PROMPT
    prompt_fields = ("input", "actual_output")


class FaithfulnessScorer(JudgeScorer):
    """Is the answer grounded in the given context?"""

    prompt = FAITHFULNESS_PROMPT

    def render(self, example: dict[str, Any], request: EvaluationRequest) -> str:
        context = self.field(example, "context", required=False)
        if context is None:
            context = self.field(example, "retrieval_context")
        output = self.text(example, "actual_output")
        return render_prompt(self.prompt, {"context": as_text(context), "actual_output": output})


class InstructionAdherenceScorer(JudgeScorer):
    """Does the response follow the instructions?"""

    prompt = ADHERENCE_PROMPT

    def render(self, example: dict[str, Any], request: EvaluationRequest) -> str:
        instructions = self.field(example, "instructions", required=False)
        if instructions is None:
            instructions = self.field(example, "input")
        output = self.text(example, "actual_output")
        return render_prompt(self.prompt, {"instructions": as_text(instructions), "actual_output": output})


class PromptJudgeScorer(JudgeScorer):
    """A judge with the user's own template; ``{field}`` placeholders are filled from the example."""

    def render(self, example: dict[str, Any], request: EvaluationRequest) -> str:
        template = str(self.options(request)["template"])  # options() refused all but {name} placeholders
        names = set(template_fields(template))
        return render_prompt(template, {name: self.text(example, name) for name in names})

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        scale = self.options(request).get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or scale <= 0:
            raise InvalidExampleError(f"scorer config scale: must be a positive number, got {scale!r}")
        answer = await self.client.answer(self.render(example, request))
        return dataclasses.replace(parse_judgement(answer.text, float(scale)), cost_usd=answer.cost_usd)
