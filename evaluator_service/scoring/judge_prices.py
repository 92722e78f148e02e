"""What LLM judge calls cost: a price per model (YAML ``judge.prices``), applied to the token counts the
judge reports in its answer's ``usage``.

Vendors change prices and bill differently (cached input, batch discounts), so nothing here is built in:
a model without a configured price has no cost (``None``, shown as unknown), never a guessed one. The
console sums the costs (:mod:`evaluator_service.console`).
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.config_values import ConfigError, Section


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million input (prompt) and output (completion) tokens of one model."""

    input_per_1m_tokens: float
    output_per_1m_tokens: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_1m_tokens + output_tokens * self.output_per_1m_tokens) / 1e6


def parse_prices(s: Section) -> dict[str, ModelPrice]:
    """``judge.prices``: ``{model: {input_per_1m_tokens: 0.15, output_per_1m_tokens: 0.6}}``."""
    prices = {}
    for model in s.data:
        entry = s.section(str(model))
        entry.reject_unknown(frozenset({"input_per_1m_tokens", "output_per_1m_tokens"}))
        for key in ("input_per_1m_tokens", "output_per_1m_tokens"):
            if not entry.has(key):
                raise ConfigError(f"{entry.where(key)}: required (USD per million tokens)")
        prices[str(model)] = ModelPrice(entry.number("input_per_1m_tokens", 0.0),
                                        entry.number("output_per_1m_tokens", 0.0))
    return prices
