"""The ``judgeval.admin.v1.ScorerAdmin`` gRPC service: upload, list, show and delete hosted scorers.

Every call must carry ``authorization: Bearer <key>`` matching the evaluator's ``JUDGMENT_API_KEY``;
anything else is ``UNAUTHENTICATED`` and changes nothing, and repeated wrong keys from one address are
logged and refused for a while (:mod:`evaluator_service.admin.auth`). An evaluator started without a key
refuses all admin calls with ``FAILED_PRECONDITION``, because an open upload endpoint would run anyone's
code.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from judgeval.admin.v1 import scorer_admin_pb2 as pb
from judgeval.admin.v1 import scorer_admin_pb2_grpc as pb_grpc
from judgeval.scorers.source_check import EXAMPLE_KIND, TRACE_KIND

from evaluator_service.admin.auth import AdminAuth
from evaluator_service.registry import (
    InvalidUpload,
    PointerRefused,
    Registry,
    RequirementsInstallError,
    ScorerExists,
    ScorerNotFound,
    StoredScorer,
    UploadMode,
)
from evaluator_service.state import StateUnavailable

_log = logging.getLogger(__name__)

_KINDS = {pb.SCORER_KIND_EXAMPLE: EXAMPLE_KIND, pb.SCORER_KIND_TRACE: TRACE_KIND}
"""What the CLI says it uploads; ``SCORER_KIND_UNSPECIFIED`` (older CLIs) leaves the source to decide."""
_KIND_NUMBERS = {kind: number for number, kind in _KINDS.items()}

_MODES = {
    pb.UPLOAD_MODE_CREATE: UploadMode.CREATE,
    pb.UPLOAD_MODE_OVERWRITE: UploadMode.OVERWRITE,
    pb.UPLOAD_MODE_NEW_VERSION: UploadMode.NEW_VERSION,
}


class ScorerAdminServicer(pb_grpc.ScorerAdminServicer):
    """Async servicer over a :class:`~evaluator_service.registry.Registry`."""

    def __init__(self, registry: Registry, auth: AdminAuth | str | None) -> None:
        self._registry = registry
        self._auth = AdminAuth.of(auth)

    async def UploadScorer(self, request: pb.UploadScorerRequest, context: grpc.aio.ServicerContext
                           ) -> pb.ScorerVersion:
        await self._authorize(context)
        try:
            stored = await self._registry.upload(
                name=request.name, source=request.source, source_filename=request.source_filename,
                requirements=request.requirements, mode=_MODES.get(request.mode, UploadMode.CREATE),
                class_name=request.class_name, declared_kind=_KINDS.get(request.kind),
                shadow=request.shadow, by=request.actor.strip()[:200] or f"admin API client {context.peer()}",
            )
        except InvalidUpload as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except ScorerExists as exc:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, str(exc))
        except RequirementsInstallError as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                f"requirements could not be installed: {exc}")
        except PointerRefused as exc:  # --shadow with nothing to compare with, or over the current version
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        _log.info("stored scorer %r version %d%s", stored.name, stored.version,
                  " in shadow" if request.shadow else "")
        return self._version(stored)

    async def ListScorers(self, request: pb.ListScorersRequest, context: grpc.aio.ServicerContext
                          ) -> pb.ListScorersResponse:
        await self._authorize(context)
        await self._refresh(context)
        return pb.ListScorersResponse(scorers=[
            pb.ScorerVersions(name=name, versions=[self._version(s) for s in versions])
            for name, versions in self._registry.list_scorers()
        ])

    async def GetScorer(self, request: pb.GetScorerRequest, context: grpc.aio.ServicerContext
                        ) -> pb.GetScorerResponse:
        await self._authorize(context)
        await self._refresh(context)
        try:
            stored = self._registry.get(request.name, _version_of(request))
            source = await self._registry.read_source(stored)
            requirements = await self._registry.read_requirements(stored)
        except ScorerNotFound as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return pb.GetScorerResponse(scorer=self._version(stored), source=source, requirements=requirements)

    async def DeleteScorer(self, request: pb.DeleteScorerRequest, context: grpc.aio.ServicerContext
                           ) -> pb.DeleteScorerResponse:
        await self._authorize(context)
        try:
            deleted = await self._registry.delete(request.name, _version_of(request))
        except ScorerNotFound as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return pb.DeleteScorerResponse(deleted=[self._version(s) for s in deleted])

    async def _refresh(self, context: grpc.aio.ServicerContext) -> None:
        """Answer from the shared registry as it is now, not as of this replica's last poll."""
        try:
            await self._registry.refresh()
        except StateUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))

    async def _authorize(self, context: grpc.aio.ServicerContext) -> None:
        await self._auth.authorize(context)

    def _version(self, stored: StoredScorer) -> pb.ScorerVersion:
        created = Timestamp()
        created.FromNanoseconds(int(stored.created_at * 1e9))
        status = (pb.INSTALL_STATUS_INSTALLED if self._registry.environment_ready(stored)
                  else pb.INSTALL_STATUS_MISSING)
        return pb.ScorerVersion(name=stored.name, version=stored.version, sha256=stored.sha256,
                                created_at=created, class_name=stored.class_name, install_status=status,
                                source_filename=stored.source_filename,
                                kind=_KIND_NUMBERS.get(stored.kind, pb.SCORER_KIND_UNSPECIFIED))


def _version_of(request: pb.GetScorerRequest | pb.DeleteScorerRequest) -> int | None:
    return request.version if request.HasField("version") else None


def install_admin_service(server: grpc.aio.Server, registry: Registry, auth: AdminAuth | str | None) -> None:
    """Add the ScorerAdmin service to ``server`` (a service installer for the evaluator's gRPC server);
    ``auth`` is the evaluator's shared :class:`AdminAuth` or just its key."""
    pb_grpc.add_ScorerAdminServicer_to_server(ScorerAdminServicer(registry, auth), server)
