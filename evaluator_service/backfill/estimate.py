"""What scoring a span will cost: judge calls, input tokens (estimated from the judge prompt's size) and
USD at the judge model's price (``judge.prices``), plus the budget a run must stay within."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evaluator_service.scoring.judge_prices import ModelPrice

CHARS_PER_TOKEN = 4
"""The usual rule of thumb for English text with OpenAI-style tokenizers."""

PROMPT_OVERHEAD_CHARS = 800
"""Characters a judge prompt adds around the example's fields (instructions, format)."""


@dataclass(frozen=True)
class SpanCost:
    """The estimated cost of scoring one span."""

    judge_calls: int
    input_tokens: int
    cost_usd: float


def span_cost(example: Mapping[str, Any], judge_calls: int, price: ModelPrice | None,
              output_tokens_per_call: int) -> SpanCost:
    """The cost of ``judge_calls`` judge calls each reading ``example``'s fields in one prompt and answering
    ``output_tokens_per_call`` tokens (0 USD without a ``price``: the plan then says the cost is unknown)."""
    if judge_calls == 0:
        return SpanCost(0, 0, 0.0)
    chars = PROMPT_OVERHEAD_CHARS + sum(len(str(value)) for value in example.values())
    tokens = judge_calls * math.ceil(chars / CHARS_PER_TOKEN)
    cost = price.cost(tokens, judge_calls * output_tokens_per_call) if price is not None else 0.0
    return SpanCost(judge_calls, tokens, cost)


@dataclass(frozen=True)
class Budget:
    """The most judge calls and USD a run may spend; ``None``: no limit."""

    max_judge_calls: int | None = None
    max_cost_usd: float | None = None

    def allows(self, judge_calls: int, cost_usd: float, next_span: SpanCost) -> bool:
        """Whether a span costing ``next_span`` fits after ``judge_calls`` calls and ``cost_usd`` spent."""
        if self.max_judge_calls is not None and judge_calls + next_span.judge_calls > self.max_judge_calls:
            return False
        return self.max_cost_usd is None or cost_usd + next_span.cost_usd <= self.max_cost_usd + 1e-12

    def describe(self) -> str:
        parts = []
        if self.max_judge_calls is not None:
            parts.append(f"{self.max_judge_calls} judge calls")
        if self.max_cost_usd is not None:
            parts.append(f"${self.max_cost_usd:g}")
        return " and ".join(parts) or "no limit"
