"""The ScorerAdmin gRPC service called directly: authentication and status codes."""

from __future__ import annotations

import grpc
import pytest
from judgeval.admin.v1 import scorer_admin_pb2 as pb
from judgeval.admin.v1 import scorer_admin_pb2_grpc as pb_grpc

from evaluator_service.admin import install_admin_service
from evaluator_service.registry import Registry

from .admin_server import API_KEY, DOCS_REQUIREMENTS, DOCS_SCORER, AdminServer

UPLOAD = pb.UploadScorerRequest(source=DOCS_SCORER.read_text(), source_filename=DOCS_SCORER.name,
                                requirements=DOCS_REQUIREMENTS)


def auth(key: str = API_KEY) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def call_error(target: str, method: str, request: object, metadata=()) -> grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await getattr(pb_grpc.ScorerAdminStub(channel), method)(request, metadata=metadata)
    return caught.value


@pytest.mark.parametrize("metadata", [(), auth("wrong-key"), (("authorization", API_KEY),)])
async def test_every_call_needs_the_bearer_key(admin_server: AdminServer, metadata) -> None:
    for method, request in [("UploadScorer", UPLOAD), ("ListScorers", pb.ListScorersRequest()),
                            ("GetScorer", pb.GetScorerRequest(name="x")),
                            ("DeleteScorer", pb.DeleteScorerRequest(name="x"))]:
        error = await call_error(admin_server.target, method, request, metadata)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, method
    assert admin_server.registry.list_scorers() == []


async def test_without_a_configured_key_admin_is_refused(registry: Registry) -> None:
    server = grpc.aio.server()
    install_admin_service(server, registry, None)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        error = await call_error(f"127.0.0.1:{port}", "UploadScorer", UPLOAD, auth())
    finally:
        await server.stop(None)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "JUDGMENT_API_KEY=<secret>" in (error.details() or "")
    assert registry.list_scorers() == []


async def test_upload_get_and_status_codes(admin_server: AdminServer) -> None:
    async with grpc.aio.insecure_channel(admin_server.target) as channel:
        stub = pb_grpc.ScorerAdminStub(channel)
        stored = await stub.UploadScorer(UPLOAD, metadata=auth())
        assert (stored.name, stored.version, stored.install_status) == (
            "Package Inquiry Scorer", 1, pb.INSTALL_STATUS_INSTALLED)
        shown = await stub.GetScorer(pb.GetScorerRequest(name=stored.name), metadata=auth())
        assert shown.source == UPLOAD.source and shown.scorer.sha256 == stored.sha256
    cases = [
        (UPLOAD, grpc.StatusCode.ALREADY_EXISTS, "already exists"),
        (pb.UploadScorerRequest(source="x = (", source_filename="s.py"), grpc.StatusCode.INVALID_ARGUMENT,
         "s.py:1:"),
        (pb.UploadScorerRequest(source=UPLOAD.source, source_filename="s.py", requirements="-e .",
                                mode=pb.UPLOAD_MODE_NEW_VERSION),
         grpc.StatusCode.INVALID_ARGUMENT, "pip options"),
        (pb.UploadScorerRequest(source=UPLOAD.source, source_filename="s.py", requirements="nope-zz-pkg\n",
                                name="other"), grpc.StatusCode.FAILED_PRECONDITION, "nope-zz-pkg"),
    ]
    for request, code, text in cases:
        error = await call_error(admin_server.target, "UploadScorer", request, auth())
        assert (error.code(), text in (error.details() or "")) == (code, True), error.details()
    missing = pb.GetScorerRequest(name=stored.name, version=7)
    error = await call_error(admin_server.target, "GetScorer", missing, auth())
    assert error.code() == grpc.StatusCode.NOT_FOUND and "has no version 7" in (error.details() or "")
