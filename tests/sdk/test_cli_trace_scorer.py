"""``judgeval upload_scorer`` recognizes a ``TraceScorer`` subclass and uploads it with kind ``trace``.

The CLI runs as a user runs it (the console script, in a subprocess) against a real gRPC server on port 0
that implements the admin API's ``UploadScorer`` and keeps the requests it received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from judgeval.admin.v1 import scorer_admin_pb2 as pb
from judgeval.admin.v1 import scorer_admin_pb2_grpc as pb_grpc
from judgeval.scorers.source_check import TRACE_KIND, ScorerSourceError, select_scorer_class

from tests.support.cli import run_cli
from tests.support.processes import EXAMPLES

EXAMPLE = EXAMPLES / "trace_scorer_agent.py"
KEY = "k"


class RecordingAdmin(pb_grpc.ScorerAdminServicer):
    """The admin API's upload, answering like the evaluator and keeping every request."""

    def __init__(self) -> None:
        self.uploads: list[Any] = []

    async def UploadScorer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self.uploads.append(request)
        return pb.ScorerVersion(
            name=request.name, version=1, sha256="ab" * 32, class_name=request.class_name, kind=request.kind
        )


@pytest.fixture
async def admin() -> AsyncIterator[tuple[RecordingAdmin, dict[str, str]]]:
    servicer = RecordingAdmin()
    server = grpc.aio.server()
    pb_grpc.add_ScorerAdminServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, {"JUDGMENT_API_URL": f"127.0.0.1:{port}", "JUDGMENT_API_KEY": KEY}
    await server.stop(None)


async def test_a_trace_scorer_file_is_uploaded_with_its_kind(
    admin: tuple[RecordingAdmin, dict[str, str]], tmp_path: Path
):
    servicer, env = admin
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("openai\n")
    result = await run_cli("upload_scorer", str(EXAMPLE), str(requirements), env=env)
    assert result.code == 0, result.stderr
    assert "Uploaded trace scorer 'Tool Loop Scorer' version 1 (class ToolLoopScorer" in result.stdout
    (request,) = servicer.uploads
    assert request.kind == pb.SCORER_KIND_TRACE
    assert (request.name, request.class_name) == ("Tool Loop Scorer", "ToolLoopScorer")
    assert request.source == EXAMPLE.read_text() and request.requirements == "openai\n"


async def test_an_example_scorer_file_is_uploaded_as_example(
    admin: tuple[RecordingAdmin, dict[str, str]], tmp_path: Path
):
    servicer, env = admin
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    scorer = EXAMPLES / "customer_service" / "customer_service_scorer.py"
    result = await run_cli("upload_scorer", str(scorer), str(requirements), env=env)
    assert result.code == 0, result.stderr
    assert "Uploaded scorer 'Package Inquiry Scorer'" in result.stdout
    assert [r.kind for r in servicer.uploads] == [pb.SCORER_KIND_EXAMPLE]


SOURCE = """
from judgeval.scorers.trace_scorer import TraceScorer
from judgeval.scorers import example_scorer

class LoopBase(TraceScorer):
    max_repeats: int = 3

class ToolLoop(LoopBase):
    name = "Loop"

class Polite(example_scorer.ExampleScorer):
    pass
"""


def test_source_check_tells_trace_from_example_scorers():
    found = select_scorer_class(SOURCE, "mixed.py", "ToolLoop")
    assert (found.kind, found.scorer_name) == (TRACE_KIND, "Loop")
    assert select_scorer_class(SOURCE, "mixed.py", "Polite").kind == "example"
    several = r"several scorer classes found: LoopBase .*ToolLoop .*Polite"
    with pytest.raises(ScorerSourceError, match=several):
        select_scorer_class(SOURCE, "mixed.py")
    with pytest.raises(ScorerSourceError, match="TraceScorer"):
        select_scorer_class("class Plain:\n    pass\n", "plain.py")


async def test_a_file_without_scorer_is_a_clean_error(
    admin: tuple[RecordingAdmin, dict[str, str]], tmp_path: Path
):
    servicer, env = admin
    bad = tmp_path / "agent.py"
    bad.write_text("class NotAScorer:\n    pass\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    result = await run_cli("upload_scorer", str(bad), str(requirements), env=env)
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "no scorer class found" in result.stderr and "TraceScorer" in result.stderr
    assert servicer.uploads == []
