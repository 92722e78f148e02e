"""``Dataset.pull`` into ``Example`` subclasses from a running evaluator, pandas, the missing-extra messages,
and the Datasets API's own refusals (bad records, no key, no trace backend)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from judgeval.admin.v1 import datasets_pb2 as pb
from judgeval.admin.v1 import datasets_pb2_grpc as pb_grpc
from judgeval.data import Example
from judgeval.dataset import Dataset, DatasetError
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin.datasets_servicer import datasets_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.state import open_shared_state
from tests.support.evaluator import running

API_KEY = "sdk-key"


class SupportTicket(Example):
    input: str
    actual_output: str


def record(n: int, example: dict[str, Any] | None = None) -> InteractionRecord:
    return InteractionRecord("Polite", f"{n:032x}", f"{n:016x}", float(n), example or {
        "input": f"ticket {n}", "actual_output": "no"}, 0.5, 0.0, False, "rude", service="shop")


@pytest.fixture
async def evaluator(make_config: Callable[..., EvaluatorConfig]) -> AsyncIterator[EvaluatorApp]:
    config = make_config({"behaviors": {"enabled": False}})
    state = open_shared_state(config.state_db_url)
    installer = datasets_installer(state, API_KEY, Redactor.of(config.datasets))
    async with running(config, shared_state=state, service_installers=[installer]) as app:
        yield app
    await state.close()


async def call(app: EvaluatorApp, method: str, request: Any, key: str | None = API_KEY) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        metadata = (("authorization", f"Bearer {key}"),) if key else ()
        return await getattr(pb_grpc.DatasetsStub(channel), method)(request, metadata=metadata, timeout=10)


async def refused(app: EvaluatorApp, method: str, request: Any, key: str | None = API_KEY
                  ) -> tuple[Any, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(app, method, request, key)
    return caught.value.code(), caught.value.details() or ""


def imported(*records: InteractionRecord) -> list[str]:
    return [json.dumps(r.to_json()) for r in records]


async def test_pull_builds_example_subclasses_that_keep_their_record(evaluator: EvaluatorApp,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    await call(evaluator, "AddRecords", pb.AddRecordsRequest(name="tickets", records_json=imported(
        record(1), record(2))))
    await call(evaluator, "AddRecords", pb.AddRecordsRequest(name="tickets",
                                                           records_json=imported(record(3))))
    monkeypatch.setenv("JUDGMENT_API_URL", f"127.0.0.1:{evaluator.port}")
    monkeypatch.setenv("JUDGMENT_API_KEY", API_KEY)
    # the SDK's client is synchronous: off the event loop the in-process evaluator runs on
    pulled = await asyncio.to_thread(Dataset.pull, "tickets", example_class=SupportTicket)
    assert (pulled.name, pulled.version, len(pulled)) == ("tickets", 2, 3)
    first = pulled.examples[0]
    assert isinstance(first, SupportTicket) and (first.input, first.actual_output) == ("ticket 1", "no")
    assert first.interaction == record(1) and first.interaction.reason == "rude"
    assert first.model_dump() == {"input": "ticket 1", "actual_output": "no"}  # the record is no field
    older = await asyncio.to_thread(Dataset.pull, "tickets@1")
    assert (older.version, [type(e) for e in older.examples]) == (1, [Example, Example])
    frame = older.to_pandas()
    assert list(frame["example.input"]) == ["ticket 1", "ticket 2"] and set(frame["passed"]) == {False}


async def test_pull_errors_name_the_problem(evaluator: EvaluatorApp) -> None:
    await call(evaluator, "AddRecords", pb.AddRecordsRequest(name="odd", records_json=imported(
        record(1, {"question": "no input field"}))))
    url = f"127.0.0.1:{evaluator.port}"
    with pytest.raises(DatasetError, match=r"record 0+1:0+1:Polite: its example does not fit SupportTicket "
                                           r"\(input: Field required; actual_output: Field required\)"):
        await asyncio.to_thread(Dataset.pull, "odd", example_class=SupportTicket, api_url=url,
                                api_key=API_KEY)
    with pytest.raises(DatasetError, match="cannot pull dataset 'ghost': no dataset named 'ghost'"):
        await asyncio.to_thread(Dataset.pull, "ghost", api_url=url, api_key=API_KEY)
    with pytest.raises(DatasetError, match="names version 1 but version=2"):
        Dataset.pull("odd@1", version=2, api_url=url, api_key=API_KEY)


def test_missing_optional_packages_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = Dataset("d", None, [record(1)])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(DatasetError, match=r"parquet needs pyarrow: pip install 'judgeval-otel\[datasets\]'"):
        dataset.save(tmp_path / "d.parquet")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(DatasetError, match=r"to_pandas\(\) needs pandas: pip install pandas"):
        dataset.to_pandas()
    dataset.save(tmp_path / "d.jsonl")  # the plain formats need neither
    assert Dataset.from_file(tmp_path / "d.jsonl").records == [record(1)]


async def test_the_api_refuses_bad_records_whole_and_callers_without_a_key(evaluator: EvaluatorApp) -> None:
    bad = [*imported(record(1)), '{"scorer": 1}']
    code, details = await refused(evaluator, "AddRecords", pb.AddRecordsRequest(name="d", records_json=bad))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("records_json[1]: ")
    code, details = await refused(evaluator, "AddRecords", pb.AddRecordsRequest(name="d", records_json=["{"]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "records_json[0]: not JSON" in details
    code, _ = await refused(evaluator, "GetDataset", pb.GetDatasetRequest(name="d"))
    assert code == grpc.StatusCode.NOT_FOUND  # nothing of the refused import was stored
    code, details = await refused(evaluator, "GetDataset", pb.GetDatasetRequest(name="bad name"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "invalid dataset name" in details
    code, _ = await refused(evaluator, "ListDatasets", pb.ListDatasetsRequest(), key=None)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    code, details = await refused(evaluator, "AddTrace", pb.AddTraceRequest(name="d", trace_id="ab" * 16))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "--from FILE" in details
    code, details = await refused(evaluator, "ListExamples", pb.ListExamplesRequest(name="d", outcome="meh"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "outcome must be passed, failed or error" in details


async def test_imports_are_redacted_like_rule_collected_records(evaluator: EvaluatorApp) -> None:
    leaky = record(1, {"input": "my card is 4111 1111 1111 1111",
                       "actual_output": "token sk-abcdefghijklmnopqrstuv"})
    change = await call(evaluator, "AddRecords", pb.AddRecordsRequest(name="d", records_json=imported(leaky)))
    assert (change.added, change.redactions, change.version) == (1, 2, 1)
    page = await call(evaluator, "ListExamples", pb.ListExamplesRequest(name="d"))
    stored = json.loads(page.examples[0].record_json)
    assert stored["example"] == {"input": "my card is [REDACTED:card]",
                                 "actual_output": "token [REDACTED:api_key]"}
