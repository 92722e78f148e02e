"""The ScorerAdmin service and trace scorers: the kind a CLI declares is checked against the source, an
older CLI's upload (no kind) is classified from the class's bases, and every reply names the kind."""

from __future__ import annotations

import grpc
import pytest
from judgeval.admin.v1 import scorer_admin_pb2 as pb
from judgeval.admin.v1 import scorer_admin_pb2_grpc as pb_grpc

from .admin_server import API_KEY, DOCS_REQUIREMENTS, DOCS_SCORER, SCORERS, AdminServer

AUTH = (("authorization", f"Bearer {API_KEY}"),)
TRACE_SOURCE = (SCORERS / "trace_scorers.py").read_text()


def trace_upload(kind: int) -> pb.UploadScorerRequest:
    return pb.UploadScorerRequest(source=TRACE_SOURCE, source_filename="trace_scorers.py",
                                  class_name="ToolLoopScorer", kind=kind)


async def test_uploads_are_classified_and_listed_with_their_kind(admin_server: AdminServer) -> None:
    async with grpc.aio.insecure_channel(admin_server.target) as channel:
        stub = pb_grpc.ScorerAdminStub(channel)
        declared = await stub.UploadScorer(trace_upload(pb.SCORER_KIND_TRACE), metadata=AUTH)
        undeclared = await stub.UploadScorer(  # a CLI older than trace scorers sends no kind
            pb.UploadScorerRequest(source=DOCS_SCORER.read_text(), source_filename=DOCS_SCORER.name,
                                   requirements=DOCS_REQUIREMENTS), metadata=AUTH)
        listed = await stub.ListScorers(pb.ListScorersRequest(), metadata=AUTH)
        shown = await stub.GetScorer(pb.GetScorerRequest(name="Tool Loop Scorer"), metadata=AUTH)
    assert (declared.name, declared.kind) == ("Tool Loop Scorer", pb.SCORER_KIND_TRACE)
    assert undeclared.kind == pb.SCORER_KIND_EXAMPLE
    assert {s.name: s.versions[0].kind for s in listed.scorers} == {
        "Package Inquiry Scorer": pb.SCORER_KIND_EXAMPLE, "Tool Loop Scorer": pb.SCORER_KIND_TRACE}
    assert shown.scorer.kind == pb.SCORER_KIND_TRACE


@pytest.mark.parametrize(("request_", "message"), [
    (trace_upload(pb.SCORER_KIND_EXAMPLE),
     "trace_scorers.py: the upload says ToolLoopScorer is an example scorer, but it derives from "
     "TraceScorer"),
    (pb.UploadScorerRequest(source=DOCS_SCORER.read_text(), source_filename=DOCS_SCORER.name,
                            requirements=DOCS_REQUIREMENTS, kind=pb.SCORER_KIND_TRACE),
     "the upload says PackageInquiryScorer is a trace scorer, but it derives from ExampleScorer"),
])
async def test_a_declared_kind_the_source_contradicts_is_refused(
    admin_server: AdminServer, request_: pb.UploadScorerRequest, message: str
) -> None:
    async with grpc.aio.insecure_channel(admin_server.target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pb_grpc.ScorerAdminStub(channel).UploadScorer(request_, metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (caught.value.details() or "")
    assert admin_server.registry.list_scorers() == []
