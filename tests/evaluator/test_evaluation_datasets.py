"""``Evaluation.ReadDataset`` over real gRPC, on SQLite and PostgreSQL: a stored dataset's records in pages
of one pinned version, limits, and refusals with status codes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from judgeval.admin.v1 import evaluation_pb2 as pb
from judgeval.admin.v1 import evaluation_pb2_grpc as pb_grpc
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin.evaluation_servicer import evaluation_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.state.dataset_rows import MAX_EXAMPLES_PER_PAGE
from tests.support.postgres_cluster import PostgresCluster

KEY = "replay-key"
AUTH = (("authorization", f"Bearer {KEY}"),)


def record(index: int) -> InteractionRecord:
    return InteractionRecord(scorer="ships", trace_id=f"{index:032x}", span_id=f"{index:016x}",
                             at=1_700_000_000.0 + index, example={"actual_output": f"answer {index}"},
                             threshold=0.5, score=0.0, passed=False)


@pytest.fixture(params=["sqlite", "postgresql"])
async def served(request: pytest.FixtureRequest, tmp_path: Path
                 ) -> AsyncIterator[tuple[EvaluatorApp, SharedState]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.url(cluster.new_database())
    state = open_shared_state(url)
    config = load_config(listen="127.0.0.1:0", data_dir=str(tmp_path / "data"), api_key=KEY, environ={})
    app: EvaluatorApp
    app = EvaluatorApp(config, shared_state=state,
                       service_installers=[evaluation_installer(lambda: app, KEY, state)])
    await app.start()
    yield app, state
    await app.stop(grace=1.0)
    await state.close()


async def read(app: EvaluatorApp, dataset: str, limit: int = 0) -> list[pb.DatasetRecords]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        stub = pb_grpc.EvaluationStub(channel)
        request = pb.ReadDatasetRequest(dataset=dataset, limit=limit)
        return [page async for page in stub.ReadDataset(request, metadata=AUTH, timeout=30)]


def ids(pages: list[pb.DatasetRecords]) -> list[str]:
    return [InteractionRecord.from_json(json.loads(text)).id for page in pages for text in page.record_json]


async def test_pages_hold_every_record_of_one_version_in_order(
    served: tuple[EvaluatorApp, SharedState]
) -> None:
    app, state = served
    stored = [record(i) for i in range(MAX_EXAMPLES_PER_PAGE + 5)]
    await state.add_dataset_examples("week", stored[:3], now=1.0)
    await state.add_dataset_examples("week", stored[3:], now=2.0)
    pages = await read(app, "week")
    assert [len(p.record_json) for p in pages] == [MAX_EXAMPLES_PER_PAGE, 5]
    assert {(p.dataset, p.version) for p in pages} == {("week", 2)}
    assert ids(pages) == [r.id for r in stored]
    assert ids(await read(app, "week@1")) == [r.id for r in stored[:3]]
    assert ids(await read(app, "week", limit=4)) == [r.id for r in stored[:4]]
    limited = await read(app, "week", limit=MAX_EXAMPLES_PER_PAGE + 1)
    assert len(ids(limited)) == MAX_EXAMPLES_PER_PAGE + 1


async def test_unknown_and_malformed_datasets_are_refused(served: tuple[EvaluatorApp, SharedState]) -> None:
    app, state = served
    await state.add_dataset_examples("week", [record(1)], now=1.0)
    for dataset, limit, code, fragment in (
        ("absent", 0, grpc.StatusCode.NOT_FOUND, "no dataset named 'absent'"),
        ("week@9", 0, grpc.StatusCode.NOT_FOUND, "has no version 9"),
        ("has space", 0, grpc.StatusCode.INVALID_ARGUMENT, "invalid dataset name"),
        ("week", -1, grpc.StatusCode.INVALID_ARGUMENT, "limit"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await read(app, dataset, limit)
        assert raised.value.code() == code and fragment in (raised.value.details() or ""), dataset
