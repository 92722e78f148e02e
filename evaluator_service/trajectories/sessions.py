"""Sessions across replicas: publish this replica's part, wait for global idle, score under a lease.

The collector balances by trace id, so the traces of one session can sit on several replicas, each buffering
only its own. When a replica's local session is due (its own spans idle for ``session_idle_s``), the
:class:`SessionCoordinator`:

1. publishes its part to the shared state (:mod:`evaluator_service.state.session_rows`): per trace, the
   spans in the trajectory JSON form (:meth:`judgeval.data.trace.Trace.to_json_data`), the span a session
   result links to, the resource, the session's requests, and when the trace was first and last seen;
2. reads every replica's parts: if any replica saw a span more recently, the session is not idle yet and the
   local deadline moves to that replica's ``last_seen + session_idle_s``;
3. takes the session's lease (free, expired, or its own). The holder builds the whole session from all
   parts, scores it, writes the results, and records ``scored_through`` (the newest ``last_seen`` covered)
   with the result's revision; a replica that finds the session scored through the newest ``last_seen``
   does nothing more; one that lost the lease tries again when it expires.

So a session is scored once per period of activity, by one replica, however its traces were balanced; a
session that resumes has a newer ``last_seen`` and is scored again under the same key with the next
revision. One replica with the default SQLite state database takes the same path.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.data.trace import Trace, TraceSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.state.session_rows import SessionPart, SessionState
from evaluator_service.trajectories.buffer import Trajectory, TrajectoryBuffer
from evaluator_service.trajectories.completion import CompletionPolicy
from evaluator_service.trajectories.results import ResultTarget, trajectory_agents
from evaluator_service.trajectories.trace_view import trace_of


@dataclass(frozen=True, slots=True)
class SessionClaim:
    """A session this replica scores now: the whole trajectory, where its results go, what it covers."""

    trace: Trace
    target: ResultTarget
    resource: bytes
    requests: str
    revision: int
    scored_through: float


class SessionCoordinator:
    """Scores each session once per period of activity across the replicas sharing ``state``."""

    def __init__(
        self,
        state: SessionState,
        buffer: TrajectoryBuffer,
        policy: CompletionPolicy,
        lease_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.replica = ""
        """This replica's id in the shared state (the evaluator's ``host:port``), set once it listens."""
        self._state = state
        self._buffer = buffer
        self._policy = policy
        self._lease_s = lease_s
        self._clock = clock

    async def announce(self, session_id: str, trace_id: bytes, now: float) -> None:
        """A trace joined the session on this replica: every replica now waits for its part."""
        await self._state.announce_session_part(
            session_id, SessionPart(trace_id.hex(), self.replica, now, now, "")
        )

    async def claim(self, t: Trajectory, replica: str) -> SessionClaim | None:
        """Publish ``t``'s local part; the claim when this replica must score the session now, else
        ``None`` (the local deadline was moved, or the session marked done, as the shared state says)."""
        assert t.session_id is not None and t.requests is not None
        await self._publish(t, replica)
        parts = await self._state.session_parts(t.session_id)
        now = self._clock()
        if not parts:  # nothing of it is buffered anywhere any more (evicted, expired)
            await self._buffer.finish(t.key, self._policy.held_due(now))
            return None
        newest = max(p.last_seen for p in parts)
        if (
            any(not p.part for p in parts)
            and now < self._policy.session_due(newest) + self._policy.config.session_idle_s
        ):
            # another replica announced a trace of the session and has not published it yet: it will when
            # its own part is idle (given up after one more idle period: a replica that is gone)
            await self._buffer.postpone(t.key, now + self._policy.config.tick_s)
            return None
        parts = [p for p in parts if p.part]
        if not parts:
            await self._buffer.finish(t.key, self._policy.held_due(now))
            return None
        if self._policy.session_due(newest) > now:  # another replica saw it more recently
            await self._buffer.postpone(t.key, self._policy.session_due(newest))
            return None
        lease = await self._state.take_session_lease(t.session_id, replica, now, self._lease_s)
        if lease.scored_through >= newest:
            await self._buffer.finish(t.key, self._policy.held_due(now))
            return None
        if lease.holder != replica:
            await self._buffer.postpone(t.key, lease.expires_at + self._policy.config.tick_s)
            return None
        return self._merge(t, parts, lease.revision + 1, newest)

    async def scored(self, t: Trajectory, claim: SessionClaim, replica: str) -> None:
        assert t.session_id is not None
        await self._state.session_scored(t.session_id, replica, claim.revision, claim.scored_through)

    async def forget(self, t: Trajectory) -> None:
        if t.session_id is not None:
            await self._state.forget_session(t.session_id)

    async def _publish(self, t: Trajectory, replica: str) -> None:
        assert t.session_id is not None
        trace_ids = await self._buffer.session_traces(t.session_id)
        times = await self._buffer.trace_times(trace_ids)
        for trace_id in trace_ids:
            buffered = await self._buffer.spans_of([trace_id])
            if not buffered:
                continue
            trace, spans = trace_of(
                buffered,
                scope=semconv.TrajectoryScope.SESSION,
                bounding_span_id=None,
                trace_ids=[trace_id],
                session_id=t.session_id,
            )
            anchor = _anchor(spans)
            resource = next(
                (b.resource for b in buffered if Span.FromString(b.span).span_id == anchor.span_id),
                buffered[0].resource,
            )
            first, last = times.get(trace_id, (self._clock(), self._clock()))
            part = {
                "spans": [s.to_json_data() for s in trace.trace_spans],
                "anchor": anchor.span_id.hex(),
                "resource": base64.b64encode(resource).decode(),
                "requests": t.requests,
            }
            await self._state.publish_session_part(
                t.session_id,
                SessionPart(trace_id.hex(), replica, first, last, json.dumps(part, default=_jsonable)),
            )

    def _merge(self, t: Trajectory, parts: list[SessionPart], revision: int, newest: float) -> SessionClaim:
        assert t.session_id is not None and t.requests is not None
        decoded = [(p, json.loads(p.part)) for p in parts]  # oldest trace first
        spans = [TraceSpan.from_json_data(s) for _, d in decoded for s in d["spans"]]
        latest_part, latest = decoded[-1]
        trace_ids = [p.trace_id for p, _ in decoded]
        anchor = latest["anchor"]
        trace = Trace.of(
            spans,
            trace_ids=tuple(trace_ids),
            scope=semconv.TrajectoryScope.SESSION,
            bounding_span_id=anchor,
            session_id=t.session_id,
        )
        target = ResultTarget(
            scope=semconv.TrajectoryScope.SESSION,
            trace_id=bytes.fromhex(latest_part.trace_id),
            parent_span_id=bytes.fromhex(anchor),
            key_base=f"session:{t.session_id}",
            span_count=len(trace.trace_spans),
            links=[(bytes.fromhex(p.trace_id), bytes.fromhex(d["anchor"])) for p, d in decoded],
            session_id=t.session_id,
            agents=trajectory_agents(trace),
        )
        return SessionClaim(
            trace, target, base64.b64decode(latest["resource"]), str(latest["requests"]), revision, newest
        )


def _anchor(spans: list[Span]) -> Span:
    """The span a session result links to in this trace: its bounding span, else its root, else its first."""
    bounding = [s for s in spans if any(a.key == semconv.JUDGEVAL_TRAJECTORY_REQUESTS for a in s.attributes)]
    roots = [s for s in spans if not s.parent_span_id]
    return (bounding or roots or spans)[0]


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
