"""Reading a stored dataset for a replay (``judgeval.evaluation.stored_dataset``) through the evaluator's
Datasets API over real gRPC, on SQLite and PostgreSQL: pages of one version, ``NAME@V``, limits across
pages, and refusals as clear errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from judgeval.evaluation import EvaluationError
from judgeval.evaluation import stored_dataset as stored
from judgeval.evaluation.remote import EvaluatorEndpoint
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin.datasets_servicer import datasets_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.state import SharedState, open_shared_state
from tests.support.postgres_cluster import PostgresCluster

KEY = "replay-key"


def record(index: int) -> InteractionRecord:
    return InteractionRecord(scorer="ships", trace_id=f"{index:032x}", span_id=f"{index:016x}",
                             at=1_700_000_000.0 + index, example={"actual_output": f"answer {index}"},
                             threshold=0.5, score=0.0, passed=False)


@pytest.fixture(params=["sqlite", "postgresql"])
async def served(request: pytest.FixtureRequest, tmp_path: Path
                 ) -> AsyncIterator[tuple[EvaluatorEndpoint, SharedState]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.url(cluster.new_database())
    state = open_shared_state(url)
    config = load_config(listen="127.0.0.1:0", data_dir=str(tmp_path / "data"), api_key=KEY, environ={})
    app = EvaluatorApp(config, shared_state=state,
                       service_installers=[datasets_installer(state, KEY, Redactor.of(config.datasets))])
    await app.start()
    yield EvaluatorEndpoint.resolve(f"127.0.0.1:{app.port}", KEY), state
    await app.stop(grace=1.0)
    await state.close()


async def read(endpoint: EvaluatorEndpoint, dataset: str, limit: int | None = None) -> stored.StoredDataset:
    return await asyncio.to_thread(stored.read_dataset, endpoint, dataset, limit)


async def test_every_page_of_one_version_in_order(served: tuple[EvaluatorEndpoint, SharedState],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, state = served
    monkeypatch.setattr(stored, "PAGE_SIZE", 2)  # several pages from a few records
    records = [record(i) for i in range(7)]
    await state.add_dataset_examples("week", records[:3], now=1.0)
    await state.add_dataset_examples("week", records[3:], now=2.0)
    current = await read(endpoint, "week")
    assert (str(current), [r.id for r in current.records]) == ("dataset week@2", [r.id for r in records])
    first = await read(endpoint, "week@1")
    assert (first.version, [r.id for r in first.records]) == (1, [r.id for r in records[:3]])
    limited = await read(endpoint, "week", limit=5)
    assert [r.id for r in limited.records] == [r.id for r in records[:5]]


async def test_unknown_and_malformed_datasets_are_clear_errors(
    served: tuple[EvaluatorEndpoint, SharedState]
) -> None:
    endpoint, state = served
    await state.add_dataset_examples("week", [record(1)], now=1.0)
    for dataset, fragment, bad_input in (("absent", "no dataset named 'absent'", False),
                                         ("week@9", "has no version 9", False),
                                         ("has space", "invalid dataset name", True),
                                         ("week@0", "invalid version", True)):
        with pytest.raises(EvaluationError, match=fragment) as raised:
            await read(endpoint, dataset)
        assert raised.value.bad_input is bad_input, dataset
