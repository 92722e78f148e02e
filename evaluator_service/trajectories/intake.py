"""Feed intake: a trajectory-feed export (marked by the feed header) goes into the buffer, never onward.

Same answers as the span intake: OK only after the copies are durable in the buffer, ``UNAVAILABLE``
(:class:`~evaluator_service.trajectories.buffer.BufferFullError`) when the buffer or the disk has no room,
spans with invalid ids refused through ``partial_success`` with the reason. Spans over a trajectory's bound,
and late spans beyond the re-score budget, are acknowledged (they are copies: the originals reached the
backend on their own route) and counted; the response's ``partial_success`` says so too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from evaluator_service.trajectories.buffer import BufferFullError, TrajectoryBuffer
from evaluator_service.trajectories.counters import TrajectoryCounters
from evaluator_service.trajectories.feed import feed_spans
from evaluator_service.trajectories.rules import TrajectoryRules
from evaluator_service.trajectories.sessions import SessionCoordinator


class TrajectoryFeedIntake:
    """Buffers feed exports; ``on_buffered`` wakes the completion sweep."""

    def __init__(
        self,
        buffer: TrajectoryBuffer,
        counters: TrajectoryCounters,
        on_buffered: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._buffer = buffer
        self._counters = counters
        self._on_buffered = on_buffered
        self._clock = clock
        self.sessions: SessionCoordinator | None = None
        self.direct = False
        """``trajectories.direct``: ordinary exports also bring copies of marked spans here."""
        self.rules: TrajectoryRules | None = None
        """``scope: trace`` / ``scope: session`` rules that bound zero-code trajectories."""

    async def ingest(
        self, request: trace_service_pb2.ExportTraceServiceRequest
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        """Buffer the request's copies; raises :class:`BufferFullError` when nothing could be stored."""
        spans, invalid = feed_spans(request, self.rules)
        response = trace_service_pb2.ExportTraceServiceResponse()
        reasons = []
        if invalid:
            reasons.append("span without a valid trace_id/span_id cannot join a trajectory")
        if spans:
            try:
                counts = await self._buffer.ingest(spans, self._clock())
            except BufferFullError:
                self._counters.spans("refused", len(spans))
                raise
            self._counters.spans("buffered", counts.buffered)
            self._counters.spans("truncated", counts.truncated)
            self._counters.spans("late", counts.late)
            self._counters.trajectories("evicted", counts.evicted)
            if counts.truncated:
                reasons.append(
                    f"{counts.truncated} span(s) over trajectories.max_spans_per_trajectory were not "
                    "buffered (the result says how many)"
                )
            if counts.late:
                reasons.append(
                    f"{counts.late} late span(s) after trajectories.late_rescores re-scores were not buffered"
                )
            for session_id, trace_id in counts.joined:
                if self.sessions is not None:  # other replicas wait for this replica's part of the session
                    await self.sessions.announce(session_id, trace_id, self._clock())
            self._on_buffered()
        refused = invalid  # truncated and late copies are acknowledged: their originals went on
        if reasons:
            response.partial_success.rejected_spans = refused
            response.partial_success.error_message = "; ".join(reasons)
        return response
