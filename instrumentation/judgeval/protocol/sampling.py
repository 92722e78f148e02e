"""The deterministic sampling rule: whether a trace is scored at a given rate.

A trace is sampled at ``rate`` iff the low 56 bits of its id (the bits W3C trace context requires to be
random) fall under ``rate * 2**56``. The SDK decides ``async_evaluate`` calls with it and the evaluator
decides its span rules with it, so every span of a trace shares the decision, re-runs agree, and a lower
rate samples a subset of the traces a higher rate samples (cheap and expensive scorers co-sample).

:func:`is_sampled` takes the id as the SDK holds it (an ``int``); :func:`is_sampled_bytes` as OTLP carries
it (16 big-endian bytes). The SDK's ``Tracer.async_evaluate`` inlines the negation of :func:`is_sampled`
with :data:`LOW_56_BITS` and :data:`SAMPLING_SPACE` for its hot case; a test pins all three to agree.
"""

from __future__ import annotations

LOW_56_BITS = (1 << 56) - 1
"""The trace-id bits the decision reads."""
SAMPLING_SPACE = float(1 << 56)
"""How many values those bits can take: ``rate`` scales it into the sampled range."""


def is_sampled(trace_id: int, sampling_rate: float) -> bool:
    """Whether the trace ``trace_id`` is scored at ``sampling_rate`` (0.0: never, 1.0: always)."""
    return (trace_id & LOW_56_BITS) < sampling_rate * SAMPLING_SPACE


def is_sampled_bytes(trace_id: bytes, sampling_rate: float) -> bool:
    """:func:`is_sampled` for an OTLP trace id (16 big-endian bytes)."""
    return is_sampled(int.from_bytes(trace_id, "big"), sampling_rate)
