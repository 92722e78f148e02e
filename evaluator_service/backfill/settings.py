"""The ``backfill:`` config section: where the trace backend is, how to read it, what judge calls cost.

::

    backfill:
      jaeger_url: http://jaeger:16686   # Jaeger's query API; `judgeval backfill --jaeger URL` overrides it
      timeout_s: 10                     # one HTTP request to Jaeger
      page_limit: 200                   # traces per Jaeger query; fuller time windows are split
      max_spans: 10000                  # spans one run scores at most (a run over more is refused)
      concurrency: 4                    # spans scored at once (the scoring limits still apply)
      lease_s: 600                      # a claimed span whose run died may be taken over after this
      uploaded_judge_calls_per_span: 1  # judge calls assumed per span for uploaded scorers
      prices:                           # per judge model; `default` for any other
        default: {per_call_usd: 0, per_1m_input_tokens_usd: 0, per_1m_output_tokens_usd: 0,
                  output_tokens_per_call: 200}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluator_service.config_values import ConfigError, Section

SECTION_KEYS = frozenset({"jaeger_url", "timeout_s", "page_limit", "max_spans", "concurrency", "lease_s",
                          "uploaded_judge_calls_per_span", "prices"})
PRICE_KEYS = frozenset({"per_call_usd", "per_1m_input_tokens_usd", "per_1m_output_tokens_usd",
                        "output_tokens_per_call"})
DEFAULT_PRICE_KEY = "default"


@dataclass(frozen=True)
class JudgePrice:
    """What one call to a judge model costs: a fixed part plus its input and output tokens."""

    per_call_usd: float = 0.0
    per_1m_input_tokens_usd: float = 0.0
    per_1m_output_tokens_usd: float = 0.0
    output_tokens_per_call: int = 200
    """Output tokens assumed per call (a judge's verdict and reason)."""

    @property
    def priced(self) -> bool:
        """Whether any price is set (an unpriced model's cost is shown as unknown, not as $0)."""
        return bool(self.per_call_usd or self.per_1m_input_tokens_usd or self.per_1m_output_tokens_usd)

    def cost(self, calls: int, input_tokens: int) -> float:
        """USD for ``calls`` calls reading ``input_tokens`` tokens in all."""
        output_tokens = calls * self.output_tokens_per_call
        return (calls * self.per_call_usd + input_tokens * self.per_1m_input_tokens_usd / 1e6
                + output_tokens * self.per_1m_output_tokens_usd / 1e6)


@dataclass(frozen=True)
class BackfillConfig:
    """How backfills read the trace backend and price judge calls (YAML ``backfill:``)."""

    jaeger_url: str | None = None
    timeout_s: float = 10.0
    page_limit: int = 200
    max_spans: int = 10_000
    concurrency: int = 4
    lease_s: float = 600.0
    uploaded_judge_calls_per_span: int = 1
    prices: dict[str, JudgePrice] = field(default_factory=dict)

    def price_of(self, model: str | None) -> JudgePrice:
        """The price of ``model``, else the ``default`` price, else no price."""
        return self.prices.get(model or "", self.prices.get(DEFAULT_PRICE_KEY, JudgePrice()))


def parse_backfill(s: Section) -> BackfillConfig:
    s.reject_unknown(SECTION_KEYS)
    url = s.opt_str("jaeger_url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{s.where('jaeger_url')}: must start with http:// or https://, got {url!r}")
    prices_section = s.section("prices")
    prices = {}
    for model in prices_section.data:
        price = prices_section.section(str(model))
        price.reject_unknown(PRICE_KEYS)
        prices[str(model)] = JudgePrice(
            per_call_usd=price.number("per_call_usd", 0.0),
            per_1m_input_tokens_usd=price.number("per_1m_input_tokens_usd", 0.0),
            per_1m_output_tokens_usd=price.number("per_1m_output_tokens_usd", 0.0),
            output_tokens_per_call=price.integer("output_tokens_per_call", 200),
        )
    return BackfillConfig(
        jaeger_url=url,
        timeout_s=s.number("timeout_s", 10.0, strict=True),
        page_limit=s.integer("page_limit", 200, minimum=2),
        max_spans=s.integer("max_spans", 10_000, minimum=1),
        concurrency=s.integer("concurrency", 4, minimum=1),
        lease_s=s.number("lease_s", 600.0, strict=True),
        uploaded_judge_calls_per_span=s.integer("uploaded_judge_calls_per_span", 1),
        prices=prices,
    )
