"""The ``judgeval.admin.v1.ScorerVersionsAdmin`` gRPC service: current and shadow versions of uploaded
scorers, their comparison, and promotion.

Changes go through the :class:`~evaluator_service.registry.Registry` (so this replica's index follows at
once and the others within their refresh interval); answers come from the shared state as it is now.
Authenticated exactly like ``ScorerAdmin``. A database outage is ``UNAVAILABLE``, an unknown scorer or
version ``NOT_FOUND``, a request that cannot apply (shadowing the current version, stopping a shadow that
does not run) ``FAILED_PRECONDITION``, each with a message saying what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import grpc
from judgeval.admin.v1 import scorer_versions_pb2 as pb
from judgeval.admin.v1 import scorer_versions_pb2_grpc as pb_grpc

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.registry import PointerRefused, Registry
from evaluator_service.state import StateUnavailable
from evaluator_service.state.scorer_pointers import UnknownScorerVersion
from evaluator_service.state.shadow_rows import ShadowComparison, ShadowResult, shadow_to_compare

_log = logging.getLogger(__name__)
DEFAULT_CHANGED_LIMIT = 20
MAX_CHANGED_LIMIT = 1000
T = TypeVar("T")


class ScorerVersionsServicer(pb_grpc.ScorerVersionsAdminServicer):
    """Async servicer over a :class:`~evaluator_service.registry.Registry` and its shared state."""

    def __init__(self, registry: Registry, auth: AdminAuth | str | None) -> None:
        self._registry = registry
        self._auth = AdminAuth.of(auth)

    async def ListScorerPointers(self, request: pb.ListScorerPointersRequest,
                                 context: grpc.aio.ServicerContext) -> pb.ListScorerPointersResponse:
        await self._auth.authorize(context)
        await self._guard(context, self._registry.refresh())
        return pb.ListScorerPointersResponse(
            pointers=[self._pointer(name) for name, _ in self._registry.list_scorers()])

    async def StartShadow(self, request: pb.StartShadowRequest, context: grpc.aio.ServicerContext
                          ) -> pb.ScorerPointer:
        await self._auth.authorize(context)
        actor = _actor(request.actor, context)
        await self._guard(context, self._registry.start_shadow(request.name, request.version, actor))
        _log.info("scorer %r version %d runs in shadow (by %s)", request.name, request.version, actor)
        return self._pointer(request.name)

    async def StopShadow(self, request: pb.StopShadowRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ScorerPointer:
        await self._auth.authorize(context)
        actor = _actor(request.actor, context)
        before = await self._guard(context, self._registry.stop_shadow(request.name, actor))
        _log.info("scorer %r: shadow of version %s stopped (by %s)", request.name, before.shadow_version,
                  actor)
        return self._pointer(request.name)

    async def PromoteScorer(self, request: pb.PromoteScorerRequest, context: grpc.aio.ServicerContext
                            ) -> pb.Promotion:
        await self._auth.authorize(context)
        actor = _actor(request.actor, context)
        done = await self._guard(context, self._registry.promote(request.name, request.version, actor))
        _log.info("scorer %r version %d promoted (was %s, by %s)", done.name, done.version,
                  done.previous_version, actor)
        return pb.Promotion(name=done.name, version=done.version, previous_version=done.previous_version or 0,
                            promoted_by=done.by, promoted_at=done.at)

    async def CompareShadow(self, request: pb.CompareShadowRequest, context: grpc.aio.ServicerContext
                            ) -> pb.ShadowComparison:
        await self._auth.authorize(context)
        await self._guard(context, self._registry.refresh())
        state, name = self._registry.state, request.name
        running = self._registry.pointer(name).shadow_version
        version = (request.shadow_version if request.HasField("shadow_version")
                   else await self._guard(context, shadow_to_compare(state, name, running)))
        if version is None:
            await _refuse(context, grpc.StatusCode.NOT_FOUND, _no_results(name, self._registry))
        limit = min(request.changed_limit or DEFAULT_CHANGED_LIMIT, MAX_CHANGED_LIMIT)
        comparison = await self._guard(context, state.compare_shadow(name, version, limit))
        if comparison.count == 0 and running != version:
            await _refuse(context, grpc.StatusCode.NOT_FOUND,
                          f"no shadow results of scorer {name!r} version {version}")
        return _comparison(comparison, running)

    def _pointer(self, name: str) -> pb.ScorerPointer:
        stored = self._registry.pointer(name)
        current = self._registry.find(name)
        message = pb.ScorerPointer(
            name=name, current_version=current.version if current is not None else 0,
            current_promoted=stored.promoted_at is not None and current is not None
            and current.version == stored.current_version,
            shadow_by=stored.shadow_by, shadow_since=stored.shadow_since or 0.0,
            promoted_by=stored.promoted_by, promoted_at=stored.promoted_at or 0.0)
        if stored.shadow_version is not None:
            message.shadow_version = stored.shadow_version
        return message

    async def _guard(self, context: grpc.aio.ServicerContext, call: Awaitable[T]) -> T:
        """``call``'s answer, or the matching gRPC status."""
        try:
            return await call
        except UnknownScorerVersion as exc:
            await _refuse(context, grpc.StatusCode.NOT_FOUND, str(exc))
        except PointerRefused as exc:
            await _refuse(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except StateUnavailable as exc:
            await _refuse(context, grpc.StatusCode.UNAVAILABLE, str(exc))


async def _refuse(context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("abort returned")  # grpc.aio's abort always raises


def _actor(given: str, context: grpc.aio.ServicerContext) -> str:
    return given.strip()[:200] or f"admin API client {context.peer()}"


def _no_results(name: str, registry: Registry) -> str:
    if not registry.versions(name):
        return f"no scorer named {name!r}"
    return (f"scorer {name!r} has no shadow results; run a version in shadow first "
            f"(judgeval scorers shadow '{name}@VERSION' or upload_scorer --shadow)")


def _verdict(passed: bool | None) -> pb.Verdict.ValueType:
    return pb.VERDICT_ERROR if passed is None else pb.VERDICT_PASS if passed else pb.VERDICT_FAIL


def _case(result: ShadowResult) -> pb.ChangedCase:
    return pb.ChangedCase(
        record_id=result.record_id, trace_id=result.trace_id, span_id=result.span_id,
        current_version=result.current_version, current_score=result.current_score,
        current_verdict=_verdict(result.current_passed), current_reason=result.current_reason,
        shadow_score=result.shadow_score, shadow_verdict=_verdict(result.shadow_passed),
        shadow_reason=result.shadow_reason, at=result.at)


def _comparison(c: ShadowComparison, running: int | None) -> pb.ShadowComparison:
    return pb.ShadowComparison(
        name=c.scorer, shadow_version=c.shadow_version, current_versions=c.current_versions, count=c.count,
        current_scored=c.current_scored, shadow_scored=c.shadow_scored, current_passed=c.current_passed,
        shadow_passed=c.shadow_passed, compared=c.compared, agreed=c.agreed,
        mean_score_delta=c.mean_score_delta, changed_count=c.changed_count,
        changed=[_case(r) for r in c.changed], shadow_running=running)


def scorer_versions_installer(registry: Registry, auth: AdminAuth | str | None
                              ) -> Callable[[grpc.aio.Server], None]:
    """A service installer adding the ScorerVersionsAdmin API over ``registry`` to the evaluator's server."""

    def install(server: grpc.aio.Server) -> None:
        pb_grpc.add_ScorerVersionsAdminServicer_to_server(ScorerVersionsServicer(registry, auth), server)

    return install
