"""The deterministic sampling rule: whether a trace is scored at a given rate.

The rule is OpenTelemetry's consistent-probability sampling (the W3C trace-context level 2 randomness and
the ``th`` threshold of the ``ot`` tracestate member): the low 56 bits ``R`` of the trace id (the bits W3C
trace context requires to be random) are compared with the rejection threshold ``T = (1 - rate) * 2**56``,
and the trace is sampled iff ``R >= T``. The collector's ``probabilistic_sampler`` processor in
``proportional`` mode applies the same rule, so a collector sampling at ``rate`` keeps exactly the traces the
SDK and the evaluator score at ``rate`` (up to the collector rounding ``T`` to ``sampling_precision`` hex
digits, see collector-config/README.md). The SDK decides ``async_evaluate`` calls with it and the evaluator
decides its span rules with it, so every span of a trace shares the decision, re-runs agree, and a lower
rate samples a subset of the traces a higher rate samples (cheap and expensive scorers co-sample).

The comparison is exact: ``R >= (1 - rate) * 2**56`` is evaluated as ``2**56 - R <= rate * 2**56`` between
an integer and a float that are both exact (Python compares ``int`` and ``float`` exactly, and scaling by a
power of two loses nothing), so no rounding of ``1 - rate`` moves the threshold.

:func:`is_sampled` takes the id as the SDK holds it (an ``int``); :func:`is_sampled_bytes` as OTLP carries
it (16 big-endian bytes). The SDK's ``Tracer.async_evaluate`` inlines the negation of :func:`is_sampled`
with :data:`LOW_56_BITS`, :data:`RANDOMNESS_VALUES` and :data:`SAMPLING_SPACE` for its hot case; a test pins
all three to agree.
"""

from __future__ import annotations

LOW_56_BITS = (1 << 56) - 1
"""The trace-id bits the decision reads (OpenTelemetry's randomness value ``R``)."""
RANDOMNESS_VALUES = 1 << 56
"""How many values ``R`` can take, as an exact integer: a trace is sampled iff ``RANDOMNESS_VALUES - R`` is
at most ``rate * SAMPLING_SPACE``."""
SAMPLING_SPACE = float(1 << 56)
"""The same count as a float: ``rate`` scales it into the size of the sampled (top) end of the range."""


def is_sampled(trace_id: int, sampling_rate: float) -> bool:
    """Whether the trace ``trace_id`` is scored at ``sampling_rate`` (0.0: never, 1.0: always)."""
    return RANDOMNESS_VALUES - (trace_id & LOW_56_BITS) <= sampling_rate * SAMPLING_SPACE


def is_sampled_bytes(trace_id: bytes, sampling_rate: float) -> bool:
    """:func:`is_sampled` for an OTLP trace id (16 big-endian bytes)."""
    return is_sampled(int.from_bytes(trace_id, "big"), sampling_rate)
