"""The ScorerVersionsAdmin gRPC API over a real registry on an in-process server (port 0): every call needs
the admin key and changes nothing without it; refusals carry the status code and message the CLI shows;
``ListScorerPointers`` tells a promoted current version from the latest one; an upload in shadow with
nothing to compare with is refused and stores nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from judgeval.admin.v1 import scorer_admin_pb2 as admin_pb
from judgeval.admin.v1 import scorer_admin_pb2_grpc as admin_grpc
from judgeval.admin.v1 import scorer_versions_pb2 as pb
from judgeval.admin.v1 import scorer_versions_pb2_grpc as pb_grpc

from evaluator_service.admin import install_admin_service
from evaluator_service.admin.scorer_versions_servicer import scorer_versions_installer
from evaluator_service.registry import Registry

from .admin_server import API_KEY, DOCS_REQUIREMENTS, DOCS_SCORER

NAME = "Package Inquiry Scorer"
AUTH = (("authorization", f"Bearer {API_KEY}"),)


@pytest.fixture
async def channel(registry: Registry) -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server()
    install_admin_service(server, registry, API_KEY)
    scorer_versions_installer(registry, API_KEY)(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as opened:
        yield opened
    await server.stop(None)


def upload_request(tag: str, *, shadow: bool = False) -> admin_pb.UploadScorerRequest:
    return admin_pb.UploadScorerRequest(
        source=f"{DOCS_SCORER.read_text()}\n# {tag}\n", source_filename=DOCS_SCORER.name,
        requirements=DOCS_REQUIREMENTS, mode=admin_pb.UPLOAD_MODE_NEW_VERSION, shadow=shadow, actor="ci")


async def code_of(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    raise AssertionError("the call succeeded")


async def test_every_call_needs_the_key_and_changes_nothing_without_it(
    channel: grpc.aio.Channel, registry: Registry
) -> None:
    admin = admin_grpc.ScorerAdminStub(channel)
    await admin.UploadScorer(upload_request("v1"), metadata=AUTH)
    await admin.UploadScorer(upload_request("v2"), metadata=AUTH)
    stub = pb_grpc.ScorerVersionsAdminStub(channel)
    wrong = (("authorization", "Bearer nope"),)
    calls = [stub.ListScorerPointers(pb.ListScorerPointersRequest(), metadata=wrong),
             stub.StartShadow(pb.StartShadowRequest(name=NAME, version=1), metadata=wrong),
             stub.StopShadow(pb.StopShadowRequest(name=NAME)),
             stub.PromoteScorer(pb.PromoteScorerRequest(name=NAME, version=1), metadata=wrong),
             stub.CompareShadow(pb.CompareShadowRequest(name=NAME), metadata=wrong)]
    for call in calls:
        assert (await code_of(call))[0] == grpc.StatusCode.UNAUTHENTICATED
    await registry.refresh()
    assert registry.find(NAME).version == 2 and registry.shadow(NAME) is None  # type: ignore[union-attr]


async def test_refusals_carry_codes_and_what_to_do(channel: grpc.aio.Channel, registry: Registry) -> None:
    admin = admin_grpc.ScorerAdminStub(channel)
    code, message = await code_of(admin.UploadScorer(upload_request("v1", shadow=True), metadata=AUTH))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "upload it without --shadow first" in message
    await registry.refresh()
    assert registry.versions(NAME) == []
    await admin.UploadScorer(upload_request("v1"), metadata=AUTH)
    stub = pb_grpc.ScorerVersionsAdminStub(channel)
    code, message = await code_of(stub.PromoteScorer(pb.PromoteScorerRequest(name=NAME, version=5),
                                                     metadata=AUTH))
    assert code == grpc.StatusCode.NOT_FOUND and "has no version 5 (versions: 1)" in message
    code, message = await code_of(stub.StartShadow(pb.StartShadowRequest(name=NAME, version=1),
                                                   metadata=AUTH))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "is its current version" in message
    code, message = await code_of(stub.CompareShadow(pb.CompareShadowRequest(name="Nobody"), metadata=AUTH))
    assert code == grpc.StatusCode.NOT_FOUND and message == "no scorer named 'Nobody'"


async def test_pointers_tell_a_promotion_from_the_latest_version(channel: grpc.aio.Channel) -> None:
    admin = admin_grpc.ScorerAdminStub(channel)
    await admin.UploadScorer(upload_request("v1"), metadata=AUTH)
    await admin.UploadScorer(upload_request("v2", shadow=True), metadata=AUTH)
    stub = pb_grpc.ScorerVersionsAdminStub(channel)
    (pointer,) = (await stub.ListScorerPointers(pb.ListScorerPointersRequest(), metadata=AUTH)).pointers
    assert (pointer.current_version, pointer.shadow_version, pointer.shadow_by) == (1, 2, "ci")
    assert not pointer.current_promoted and pointer.shadow_since > 0
    promotion = await stub.PromoteScorer(pb.PromoteScorerRequest(name=NAME, version=2, actor="alice"),
                                         metadata=AUTH)
    assert (promotion.version, promotion.previous_version, promotion.promoted_by) == (2, 1, "alice")
    (pointer,) = (await stub.ListScorerPointers(pb.ListScorerPointersRequest(), metadata=AUTH)).pointers
    assert (pointer.current_version, pointer.current_promoted) == (2, True)
    assert not pointer.HasField("shadow_version")
    assert pointer.promoted_by == "alice" and pointer.promoted_at == promotion.promoted_at
