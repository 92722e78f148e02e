"""The sampling rule: one function, and the SDK's and the evaluator's decisions agree on every trace."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from fractions import Fraction

import pytest
from judgeval import semconv
from judgeval.data import Example
from judgeval.protocol import sampling
from judgeval.protocol.sampling import LOW_56_BITS, RANDOMNESS_VALUES, is_sampled, is_sampled_bytes
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.tracer import Tracer, _evaluate
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator

from evaluator_service import span_rules
from evaluator_service.config import RuleConfig
from evaluator_service.span_rules import RuleMatcher

SPACE = 1 << 56
RATES = (
    0.0,
    1.0,
    5e-324,  # the smallest float: less than one value of the low part, so never sampled
    2.0**-56,  # exactly one value of the low part: the largest
    1.5 * 2.0**-56,
    1e-9,
    0.1,
    0.5,
    0.95,
    math.nextafter(1.0, 0.0),  # the largest rate below 1
)
RANDOM_TRACES = 20_000


class _FixedIds(IdGenerator):
    """Hands out the trace ids of the test in order, so the SDK decides on exactly those."""

    def __init__(self) -> None:
        self.next_trace_id = 1
        self._span_ids = iter(range(1, 1 << 62))

    def generate_span_id(self) -> int:
        return next(self._span_ids)

    def generate_trace_id(self) -> int:
        return self.next_trace_id


class Hosted(ExampleScorer):
    name: str = "agreement"
    server_hosted: bool = True


def _boundary_ids(rng: random.Random) -> Iterator[tuple[int, float]]:
    """For each rate, low parts right at its threshold (and the extremes), under random high bits."""
    for rate in RATES:
        threshold = (1 - rate) * SPACE  # approximately: the exact one is what the boundary ids probe
        lows = {0, 1, LOW_56_BITS - 1, LOW_56_BITS}
        lows |= {math.floor(threshold) + d for d in (-1, 0, 1)}
        lows |= {math.ceil(threshold) + d for d in (-1, 0, 1)}
        for low in sorted(v for v in lows if 0 <= v <= LOW_56_BITS):
            high = rng.getrandbits(72) or 1
            yield (high << 56) | low, rate


def _cases() -> list[tuple[int, float]]:
    rng = random.Random(20261204)
    random_ids = [(rng.getrandbits(128) or 1, RATES[i % len(RATES)]) for i in range(RANDOM_TRACES)]
    return random_ids + list(_boundary_ids(rng))


def _sdk_decisions(cases: list[tuple[int, float]]) -> list[bool]:
    """Whether ``Tracer.async_evaluate`` tagged a span of each trace (its inlined hot case included)."""
    ids = _FixedIds()
    provider = TracerProvider(id_generator=ids)
    judgment = Tracer(project_name="sampling-agreement", tracer_provider=provider)
    otel_tracer = provider.get_tracer("agreement")
    scorer, example = Hosted(), Example(question="q")
    decisions = []
    for trace_id, rate in cases:
        ids.next_trace_id = trace_id
        with otel_tracer.start_as_current_span("agent") as span:
            judgment.async_evaluate(scorer, example, rate)
            decisions.append(semconv.JUDGEVAL_EVAL_STATUS in span.attributes)  # type: ignore[attr-defined]
    provider.shutdown()
    return decisions


def _evaluator_decisions(cases: list[tuple[int, float]]) -> list[bool]:
    """Whether the evaluator's span rule tagged a span of each trace."""
    matchers = {rate: RuleMatcher([RuleConfig("r", "s", {}, sampling_rate=rate)]) for rate in RATES}
    return [
        matchers[rate].apply(Span(trace_id=trace_id.to_bytes(16, "big"), name="agent"), {})
        for trace_id, rate in cases
    ]


def test_one_rule_serves_both_sides():
    assert _evaluate.is_sampled is is_sampled
    assert span_rules.is_sampled_bytes is is_sampled_bytes
    assert sampling.SAMPLING_SPACE == SPACE == RANDOMNESS_VALUES


def test_sdk_and_evaluator_agree_on_every_trace_id_and_rate():
    cases = _cases()
    # OpenTelemetry's rule R >= (1 - rate) * 2**56, in exact rational arithmetic
    expected = [
        Fraction(trace_id & LOW_56_BITS) >= (1 - Fraction(rate)) * SPACE for trace_id, rate in cases
    ]
    assert _sdk_decisions(cases) == expected
    assert _evaluator_decisions(cases) == expected
    assert [is_sampled_bytes(t.to_bytes(16, "big"), r) for t, r in cases] == expected
    # the data is not degenerate: every rate strictly between 0 and 1 has both outcomes somewhere
    for rate in RATES:
        outcomes = {decision for (_, r), decision in zip(cases, expected, strict=True) if r == rate}
        never = rate * SPACE < 1  # not even the largest low part is in the sampled fraction
        assert outcomes == ({False} if never else {True} if rate == 1.0 else {True, False})


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_lower_rates_sample_subsets_and_the_top_byte_is_ignored(rate: float):
    rng = random.Random(7)
    ids = [rng.getrandbits(128) for _ in range(2000)]
    chosen = {t for t in ids if is_sampled(t, rate)}
    assert {t for t in ids if is_sampled(t, rate / 2)} <= chosen
    assert {t for t in ids if is_sampled(t ^ (0xFF << 120), rate)} == chosen
