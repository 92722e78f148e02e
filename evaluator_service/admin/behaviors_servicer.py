"""The ``judgeval.admin.v1.Behaviors`` gRPC service: discovered behaviors as tracked issues.

List, show, rename, merge, split off, dismiss / mark as expected / reopen, and read the lifecycle event
log. Answers straight from the shared state database (not this replica's in-memory index), so every replica
gives the same answer. Authenticated exactly like ``ScorerAdmin``
(:class:`~evaluator_service.admin.auth.AdminAuth`). A database outage is ``UNAVAILABLE``, an unknown id
``NOT_FOUND``, an operator action that cannot apply ``FAILED_PRECONDITION`` with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from judgeval.admin.v1 import behaviors_pb2 as pb
from judgeval.admin.v1 import behaviors_pb2_grpc as pb_grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.admin.behaviors_messages import DISPOSITIONS, behavior_message, event_message
from evaluator_service.behaviors.event_log import StateBehaviorEventLog
from evaluator_service.state import SharedState, StateUnavailable
from evaluator_service.state.behavior_issue_rows import BehaviorActionRefused
from evaluator_service.state.behavior_records import (
    DISMISSED,
    MAX_NAME_CHARS,
    MERGED,
    NAME_OPERATOR,
    StoredBehavior,
)
from evaluator_service.state.behavior_rows import bucket_of
from evaluator_service.state.sample_reservoir import DEFAULT_SAMPLE_CAPACITY

_PURPOSE = "the behaviors API"
DEFAULT_TREND_S = 86400.0
_SETTABLE = {v: k for k, v in DISPOSITIONS.items() if k != MERGED}
T = TypeVar("T")


class BehaviorsServicer(pb_grpc.BehaviorsServicer):
    """Async servicer over the behaviors in a :class:`~evaluator_service.state.SharedState`; ``trend_s`` is
    how far back the member counts shown as a behavior's trend go, ``sample_capacity`` how many members a
    merged behavior's sample keeps (``behaviors.recluster_sample_size``)."""

    def __init__(self, state: SharedState, auth: AdminAuth | str | None,
                 trend_s: float = DEFAULT_TREND_S, sample_capacity: int = DEFAULT_SAMPLE_CAPACITY) -> None:
        self._state = state
        self._sample_capacity = sample_capacity
        self._auth = AdminAuth.of(auth)
        self._trend_s = trend_s
        self._events = StateBehaviorEventLog(state)

    async def ListBehaviors(self, request: pb.ListBehaviorsRequest, context: grpc.aio.ServicerContext
                            ) -> pb.ListBehaviorsResponse:
        await self._auth.authorize(context, _PURPOSE)
        stored = await _answer(context, self._state.behaviors())
        trends = await _answer(context, self._state.behavior_buckets(self._trend_since()))
        chosen = [b for b in stored
                  if (not request.scorer or request.scorer in (b.scorer, *b.scorers))
                  and (request.include_closed or b.disposition not in (DISMISSED, MERGED))
                  and (not request.state or b.state == request.state)]
        return pb.ListBehaviorsResponse(behaviors=[behavior_message(b, trends.get(b.id)) for b in chosen])

    async def GetBehavior(self, request: pb.GetBehaviorRequest, context: grpc.aio.ServicerContext
                          ) -> pb.Behavior:
        await self._auth.authorize(context, _PURPOSE)
        found = await _found(context, request.id, await _answer(context, self._state.behavior(request.id)))
        return await self._message(context, found)

    async def RenameBehavior(self, request: pb.RenameBehaviorRequest, context: grpc.aio.ServicerContext
                             ) -> pb.Behavior:
        await self._auth.authorize(context, _PURPOSE)
        name = " ".join(request.name.split())
        if not name or len(name) > MAX_NAME_CHARS:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"name must be 1 to {MAX_NAME_CHARS} characters, got {len(name)}")
        renamed = await _answer(context, self._state.rename_behavior(request.id, name, NAME_OPERATOR))
        return await self._message(context, await _found(context, request.id, renamed))

    async def MergeBehaviors(self, request: pb.MergeBehaviorsRequest, context: grpc.aio.ServicerContext
                             ) -> pb.Behavior:
        await self._auth.authorize(context, _PURPOSE)
        merged = await _answer(context, self._state.merge_behaviors(
            request.source_id, request.target_id, sample_capacity=self._sample_capacity))
        return await self._message(context, merged)

    async def SplitBehavior(self, request: pb.SplitBehaviorRequest, context: grpc.aio.ServicerContext
                            ) -> pb.Behavior:
        await self._auth.authorize(context, _PURPOSE)
        name = " ".join(request.name.split())
        if len(name) > MAX_NAME_CHARS:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"name must be at most {MAX_NAME_CHARS} characters, got {len(name)}")
        split = self._state.split_behavior(request.id, list(request.span_ids), name, time.time())
        return await self._message(context, await _answer(context, split))

    async def SetDisposition(self, request: pb.SetDispositionRequest, context: grpc.aio.ServicerContext
                             ) -> pb.Behavior:
        await self._auth.authorize(context, _PURPOSE)
        disposition = _SETTABLE.get(request.disposition)
        if disposition is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "disposition must be DISPOSITION_OPEN, DISPOSITION_DISMISSED or "
                                "DISPOSITION_EXPECTED")
        assert disposition is not None  # context.abort raises
        changed = await _answer(context, self._state.set_behavior_disposition(request.id, disposition))
        return await self._message(context, await _found(context, request.id, changed))

    async def ListBehaviorEvents(self, request: pb.ListBehaviorEventsRequest,
                                 context: grpc.aio.ServicerContext) -> pb.ListBehaviorEventsResponse:
        await self._auth.authorize(context, _PURPOSE)
        if request.limit < 0 or request.limit > 1000 or request.after_sequence < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "limit must be 0 to 1000 and after_sequence at least 0")
        events = await _answer(context, self._events.events_after(request.after_sequence,
                                                                  request.limit or 100))
        return pb.ListBehaviorEventsResponse(events=[event_message(e) for e in events])

    def _trend_since(self) -> int:
        return bucket_of(time.time() - self._trend_s)

    async def _message(self, context: grpc.aio.ServicerContext, b: StoredBehavior) -> pb.Behavior:
        trends = await _answer(context, self._state.behavior_buckets(self._trend_since()))
        return behavior_message(b, trends.get(b.id))


async def _answer(context: grpc.aio.ServicerContext, call: Awaitable[T]) -> T:
    """``call``'s result; a database outage aborts ``UNAVAILABLE``, a refused action
    ``FAILED_PRECONDITION`` (``NOT_FOUND`` for an unknown id)."""
    try:
        return await call
    except StateUnavailable as exc:
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
    except BehaviorActionRefused as exc:
        code = grpc.StatusCode.NOT_FOUND if str(exc).startswith("no behavior") else \
            grpc.StatusCode.FAILED_PRECONDITION
        await context.abort(code, str(exc))
    raise AssertionError("context.abort raises")


async def _found(context: grpc.aio.ServicerContext, behavior_id: str, found: T | None) -> T:
    if found is None:
        await context.abort(grpc.StatusCode.NOT_FOUND,
                            f"no behavior {behavior_id!r}; `judgeval behaviors list` shows the ids")
    assert found is not None  # context.abort raises
    return found


def behaviors_installer(state: SharedState, auth: AdminAuth | str | None, trend_s: float = DEFAULT_TREND_S,
                        sample_capacity: int = DEFAULT_SAMPLE_CAPACITY) -> Callable[[grpc.aio.Server], None]:
    """A service installer adding the Behaviors API over ``state`` to the evaluator's gRPC server
    (``trend_s``: the lifecycle's ``baseline_window_s``, how far back member counts are kept;
    ``sample_capacity``: ``recluster_sample_size``)."""

    def install(server: grpc.aio.Server) -> None:
        servicer = BehaviorsServicer(state, auth, trend_s, sample_capacity)
        pb_grpc.add_BehaviorsServicer_to_server(servicer, server)

    return install
