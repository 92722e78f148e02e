"""Per-span isolation for the scoring dispatcher: each stage of one span (decode, score, behavior placement,
enrichment, encoding) runs under :func:`stage`, which turns any error into :class:`StageFailed`; the
dispatcher then exports that span as it arrived, marked failed with :func:`dead_letter_reason`, and counts
it, while the spans beside and behind it go on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

from evaluator_service.errors import EvaluatorError

MAX_REASON_CHARS = 1000
"""A dead letter's reason is cut to this length: an exception's message may quote the whole payload."""

STAGE_VERBS = {"decode": "decoded", "score": "scored", "behavior": "assigned a behavior",
               "enrich": "enriched", "encode": "encoded"}
"""The stages of one span, with the word a dead letter's reason uses for each."""


class StageFailed(EvaluatorError):
    """Something went wrong with one span in ``stage`` (a key of :data:`STAGE_VERBS`)."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(stage, error)
        self.stage = stage
        self.error = error


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Turn any error of one span's ``name`` stage into :class:`StageFailed` (cancellation passes)."""
    try:
        yield
    except StageFailed:
        raise
    except Exception as exc:
        raise StageFailed(name, exc) from exc


class PackedOriginals:
    """The spans of a packed row as they arrived, parsed only if one of them is needed."""

    def __init__(self, packed: bytes) -> None:
        self._packed = packed
        self._spans: list[bytes] | None = None

    def __getitem__(self, index: int) -> bytes:
        if self._spans is None:
            self._spans = [span.SerializeToString() for span in ScopeSpans.FromString(self._packed).spans]
        return self._spans[index]




def dead_letter_reason(failed: StageFailed) -> str:
    """What a dead letter's ``judgeval.eval.error`` says: the stage and the error, cut to
    :data:`MAX_REASON_CHARS`."""
    error = failed.error
    reason = f"span could not be {STAGE_VERBS[failed.stage]}: {type(error).__name__}: {error}"
    return reason if len(reason) <= MAX_REASON_CHARS else f"{reason[:MAX_REASON_CHARS]}..."
