"""Uploaded ``TraceScorer`` classes, scored in the sandbox like uploaded example scorers.

:class:`UploadedTraceScorerSource` resolves a trajectory request's scorer name in the same registry and runs
it on the same sandbox pool as :class:`~evaluator_service.sandbox.uploaded_source.UploadedScorerSource` (whose
limits, timeouts, crash handling and worker reuse it shares): the worker's ``score_trace`` operation gets
``Trace.to_json_data()`` (encoded once, off the event loop for a large trajectory) and answers a score and
reason. A stored version's kind decides what it may score:
an uploaded ``ExampleScorer`` named by a trajectory request fails with a ``wrong_kind`` error, as an uploaded
``TraceScorer`` named by a span request does. A trajectory whose JSON is larger than
:data:`MAX_TRACE_BYTES` is not sent (a ``limit`` error says how large it was).
"""

from __future__ import annotations

import asyncio
import json

from judgeval.data.trace import Trace
from judgeval.protocol.evaluation_request import ScorerRef
from judgeval.protocol.trajectory_request import TrajectoryRequest
from judgeval.scorers.source_check import TRACE_KIND

from evaluator_service.sandbox.protocol import MAX_FRAME_BYTES, SCORE_TRACE, EncodedJson
from evaluator_service.sandbox.uploaded_source import UploadedScorer, UploadedScorerSource
from evaluator_service.scoring.contract import (
    InvalidExampleError,
    ScoreOutcome,
    ScorerLimitError,
    TrajectoryScorer,
    UnknownScorerError,
)
from evaluator_service.scoring.kind_mixup import MisdirectedScorer, span_scorer_on_trajectory
from evaluator_service.scoring.trajectory.deterministic import INLINE_SPANS
from evaluator_service.state import StateUnavailable

MAX_TRACE_BYTES = MAX_FRAME_BYTES - 1024 * 1024
"""Largest trajectory (as JSON) sent to a sandbox worker (15 MiB: about 10,000 spans of 1.5 KB); the rest of
the frame holds the scorer's config and the framing."""


def _encoded(trajectory: Trace) -> bytes:
    try:
        return json.dumps(trajectory.to_json_data(), default=str, separators=(",", ":")).encode()
    except (RecursionError, ValueError) as exc:
        raise InvalidExampleError(f"the trajectory cannot be sent to the sandbox as JSON: "
                                  f"{'values nested too deeply' if isinstance(exc, RecursionError) else exc}"
                                  ) from None


class UploadedTraceScorer(UploadedScorer):
    """One stored ``TraceScorer`` version, scored in the sandbox."""

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        """Run ``a_score_trace`` of the uploaded class on ``trajectory`` in a sandbox worker."""
        if len(trajectory.trace_spans) > INLINE_SPANS:  # encoding a large one would hold up the event loop
            encoded = await asyncio.to_thread(_encoded, trajectory)
        else:
            encoded = _encoded(trajectory)
        size = len(encoded)
        if size > MAX_TRACE_BYTES:
            raise ScorerLimitError(
                f"the trajectory is {size} bytes as JSON ({len(trajectory.trace_spans)} spans), over the "
                f"{MAX_TRACE_BYTES} bytes a sandboxed trace scorer may be sent")
        return await self.run_in_sandbox({
            "op": SCORE_TRACE, "trace": EncodedJson(encoded), "config": request.scorer.config,
            "threshold": request.scorer.threshold,
        })


class _NotYetSeenTrace:
    """A name this replica's index lacks: re-check the shared database once, then score or say so."""

    def __init__(self, ref: ScorerRef, source: UploadedTraceScorerSource) -> None:
        self.name = ref.name
        self._ref = ref
        self._source = source

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        try:
            await self._source.uploads.registry.refresh()
        except StateUnavailable as exc:
            raise UnknownScorerError(f"no scorer named {self.name!r} on this evaluator "
                                     f"(the shared registry could not be checked: {exc})") from None
        scorer = self._source.resolve_stored(self._ref)
        if scorer is None:
            raise UnknownScorerError(f"no scorer named {self.name!r} on this evaluator")
        return await scorer.score_trajectory(trajectory, request)


class UploadedTraceScorerSource:
    """The :class:`~evaluator_service.scoring.contract.TrajectoryScorerSource` of uploaded scorers, over the
    registry and pool of ``uploads`` (the span chain's source, which owns their lifecycle). Like it, it
    answers every name when ``uploads`` re-checks unknown names, so it must come last."""

    def __init__(self, uploads: UploadedScorerSource) -> None:
        self.uploads = uploads

    def resolve(self, ref: ScorerRef) -> TrajectoryScorer | None:
        found = self.resolve_stored(ref)
        if found is None and self.uploads.recheck_unknown:
            return _NotYetSeenTrace(ref, self)
        return found

    def resolve_stored(self, ref: ScorerRef) -> TrajectoryScorer | None:
        """The scorer from this replica's index, or ``None`` if the index does not know the name."""
        registry = self.uploads.registry
        stored = registry.find(ref.name, ref.version)
        if stored is None:
            versions = registry.versions(ref.name)
            if not versions:
                return None
            return _Missing(ref.name, f"scorer {ref.name!r} has no version {ref.version} "
                                      f"(latest is {versions[-1].version})")
        if stored.kind != TRACE_KIND:
            return MisdirectedScorer(stored.name, span_scorer_on_trajectory(
                stored.name, f"an uploaded ExampleScorer, {stored.class_name} v{stored.version}"))
        return UploadedTraceScorer(stored, registry, self.uploads.pool, self.uploads.programs)


class _Missing:
    """A pinned version that does not exist."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self._message = message

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        raise UnknownScorerError(self._message)

