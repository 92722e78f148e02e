"""The ``judgeval.admin.v1.Behaviors`` gRPC service: list, show and rename discovered behaviors.

Answers straight from the shared state database (not this replica's in-memory index), so every replica
gives the same answer. Authenticated exactly like ``ScorerAdmin``
(:class:`~evaluator_service.admin.auth.AdminAuth`).
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from judgeval.admin.v1 import behaviors_pb2 as pb
from judgeval.admin.v1 import behaviors_pb2_grpc as pb_grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.state import SharedState, StateUnavailable
from evaluator_service.state.behavior_rows import (
    NAME_AUTO,
    NAME_OPERATOR,
    NAME_PROVISIONAL,
    StoredBehavior,
)

_PURPOSE = "the behaviors API"
MAX_NAME_CHARS = 200
_SOURCES = {NAME_PROVISIONAL: pb.NAME_SOURCE_PROVISIONAL, NAME_AUTO: pb.NAME_SOURCE_AUTO,
            NAME_OPERATOR: pb.NAME_SOURCE_OPERATOR}


class BehaviorsServicer(pb_grpc.BehaviorsServicer):
    """Async servicer over the behaviors in a :class:`~evaluator_service.state.SharedState`."""

    def __init__(self, state: SharedState, auth: AdminAuth | str | None) -> None:
        self._state = state
        self._auth = AdminAuth.of(auth)

    async def ListBehaviors(self, request: pb.ListBehaviorsRequest, context: grpc.aio.ServicerContext
                            ) -> pb.ListBehaviorsResponse:
        await self._auth.authorize(context, _PURPOSE)
        try:
            stored = await self._state.behaviors()
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        chosen = [b for b in stored if not request.scorer or b.scorer == request.scorer]
        return pb.ListBehaviorsResponse(behaviors=[behavior_message(b) for b in chosen])

    async def GetBehavior(self, request: pb.GetBehaviorRequest, context: grpc.aio.ServicerContext
                          ) -> pb.Behavior:
        await self._auth.authorize(context, _PURPOSE)
        try:
            found = await self._state.behavior(request.id)
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        if found is None:
            await _not_found(context, request.id)
        assert found is not None  # context.abort raises
        return behavior_message(found)

    async def RenameBehavior(self, request: pb.RenameBehaviorRequest, context: grpc.aio.ServicerContext
                             ) -> pb.Behavior:
        await self._auth.authorize(context, _PURPOSE)
        name = " ".join(request.name.split())
        if not name or len(name) > MAX_NAME_CHARS:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"name must be 1 to {MAX_NAME_CHARS} characters, got {len(name)}")
        try:
            renamed = await self._state.rename_behavior(request.id, name, NAME_OPERATOR)
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        if renamed is None:
            await _not_found(context, request.id)
        assert renamed is not None  # context.abort raises
        return behavior_message(renamed)


def behavior_message(b: StoredBehavior) -> pb.Behavior:
    """The API's view of a stored behavior (the centroid stays internal)."""
    return pb.Behavior(
        id=b.id, scorer=b.scorer, name=b.name,
        name_source=_SOURCES.get(b.name_source, pb.NAME_SOURCE_UNSPECIFIED), count=b.member_count,
        first_seen=_timestamp(b.first_seen), last_seen=_timestamp(b.last_seen),
        examples=[pb.BehaviorExample(trace_id=e.trace_id, span_id=e.span_id, text=e.text)
                  for e in b.examples],
    )


async def _not_found(context: grpc.aio.ServicerContext, behavior_id: str) -> None:
    await context.abort(grpc.StatusCode.NOT_FOUND,
                        f"no behavior {behavior_id!r}; `judgeval behaviors list` shows the ids")


def _timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def behaviors_installer(state: SharedState, auth: AdminAuth | str | None
                        ) -> Callable[[grpc.aio.Server], None]:
    """A service installer adding the Behaviors API over ``state`` to the evaluator's gRPC server."""

    def install(server: grpc.aio.Server) -> None:
        pb_grpc.add_BehaviorsServicer_to_server(BehaviorsServicer(state, auth), server)

    return install
