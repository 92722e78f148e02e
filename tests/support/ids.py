"""Known trace and span ids, so a test can compute in advance what a trace-id-based decision gives."""

from __future__ import annotations

import random
import threading

from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import INVALID_SPAN_ID, INVALID_TRACE_ID


class SeededIdGenerator(IdGenerator):
    """An OpenTelemetry ``IdGenerator`` whose ids are a fixed sequence for a given ``seed``.

    Trace ids and span ids come from two separate streams, so the n-th trace id does not depend on how many
    spans the earlier traces had: ``SeededIdGenerator(seed)``'s first ``n`` trace ids are the ones a
    process using it for ``n`` traces gets.
    """

    def __init__(self, seed: int) -> None:
        self._trace_ids = random.Random(f"trace-{seed}")
        self._span_ids = random.Random(f"span-{seed}")
        self._lock = threading.Lock()

    def generate_trace_id(self) -> int:
        with self._lock:
            while (trace_id := self._trace_ids.getrandbits(128)) == INVALID_TRACE_ID:
                pass
        return trace_id

    def generate_span_id(self) -> int:
        with self._lock:
            while (span_id := self._span_ids.getrandbits(64)) == INVALID_SPAN_ID:
                pass
        return span_id


def first_trace_ids(seed: int, count: int) -> list[int]:
    """The first ``count`` trace ids a ``SeededIdGenerator(seed)`` hands out."""
    generator = SeededIdGenerator(seed)
    return [generator.generate_trace_id() for _ in range(count)]
