"""Reading a large dataset through the Datasets and Calibration APIs: keyset pages that hold one version
while rows are added, page tokens that are checked, and ``judgeval datasets export`` writing each page as it
arrives (the CLI never holds the dataset: its first lines are out before the evaluator is asked for the
second page), parquet in row groups, and no half file when an export is cut off."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
from judgeval.admin.v1 import calibration_pb2 as cpb
from judgeval.admin.v1 import calibration_pb2_grpc as cpb_grpc
from judgeval.admin.v1 import datasets_pb2 as pb
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin.calibration_servicer import calibration_installer
from evaluator_service.admin.datasets_servicer import datasets_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.calibration.monitor import CalibrationMonitor
from evaluator_service.config import EvaluatorConfig
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.state import SharedState, StateUnavailable, open_shared_state
from evaluator_service.state.dataset_labels import DatasetLabel, HumanLabel
from tests.datasets.test_dataset_sdk import API_KEY, call, imported, refused
from tests.support.evaluator import running

BIG = 2500  # three pages of the CLI's 1000


def record(n: int, at: float | None = None) -> InteractionRecord:
    return InteractionRecord("Polite", f"{n:032x}", f"{n:016x}", float(n) if at is None else at,
                             {"input": f"ticket {n} " + "x" * 200, "actual_output": "no"}, 0.5, 0.0, False,
                             "rude", service="shop")


class PacedState:
    """The shared state as the APIs see it, with example pages counted; the second page waits for
    ``release`` (or fails, with ``fail_second``)."""

    def __init__(self, state: SharedState) -> None:
        self._state = state
        self.pages = 0
        self.release = asyncio.Event()
        self.fail_second = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)

    async def dataset_examples(self, *args: Any, **kwargs: Any) -> Any:
        self.pages += 1
        if self.pages == 2:
            if self.fail_second:
                raise StateUnavailable("state database sqlite:///state.db is unreachable")
            await self.release.wait()
        return await self._state.dataset_examples(*args, **kwargs)


@pytest.fixture
async def evaluator(make_config: Callable[..., EvaluatorConfig]
                    ) -> AsyncIterator[tuple[EvaluatorApp, SharedState, PacedState]]:
    config = make_config({"behaviors": {"enabled": False}})
    state = open_shared_state(config.state_db_url)
    paced = PacedState(state)
    seen = cast(SharedState, paced)
    monitor = CalibrationMonitor(config.calibration, state=state)
    installers = [datasets_installer(seen, API_KEY, Redactor.of(config.datasets)),
                  calibration_installer(seen, monitor, API_KEY)]
    async with running(config, shared_state=state, service_installers=installers) as app:
        yield app, state, paced
    await state.close()


async def export(app: EvaluatorApp, *args: str) -> asyncio.subprocess.Process:
    script = Path(sys.executable).parent / "judgeval"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUDGMENT_")}
    env |= {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
    return await asyncio.create_subprocess_exec(str(script), "datasets", "export", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)


async def test_an_export_writes_each_page_before_asking_for_the_next(
    evaluator: tuple[EvaluatorApp, SharedState, PacedState],
) -> None:
    app, state, paced = evaluator
    await state.add_dataset_examples("big", [record(n) for n in range(1, BIG + 1)], now=1.0)
    process = await export(app, "big")
    assert process.stdout is not None and process.stderr is not None
    # the first line is out while the second page is held back (a CLI building one list would never
    # write before it is released: the wait would time out)
    first = await asyncio.wait_for(process.stdout.readline(), 60)
    assert json.loads(first)["trace_id"] == f"{1:032x}" and not paced.release.is_set()
    paced.release.set()
    rest, err = await asyncio.wait_for(asyncio.gather(process.stdout.read(), process.stderr.read()), 120)
    assert await process.wait() == 0, err
    lines = [first, *rest.splitlines()]
    assert [json.loads(line)["trace_id"] for line in lines] == [f"{n:032x}" for n in range(1, BIG + 1)]
    assert err.decode().strip() == f"Exported {BIG} records of big@1 to stdout (jsonl)"
    assert paced.pages == 3


async def test_parquet_is_written_in_row_groups_and_a_cut_off_export_leaves_no_file(
    evaluator: tuple[EvaluatorApp, SharedState, PacedState], tmp_path: Path,
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    app, state, paced = evaluator
    await state.add_dataset_examples("big", [record(n) for n in range(1, BIG + 1)], now=1.0)
    paced.release.set()
    out = tmp_path / "out"
    out.mkdir()
    path = out / "big.parquet"
    process = await export(app, "big", "-o", str(path))
    _, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    assert pq.read_table(path).num_rows == BIG

    paced.pages, paced.fail_second = 0, True
    cut = out / "cut.jsonl"
    process = await export(app, "big", "-o", str(cut))
    _, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1 and "is unreachable" in err.decode() and "Traceback" not in err.decode()
    assert sorted(p.name for p in out.iterdir()) == ["big.parquet"]


async def test_pages_hold_their_version_while_examples_are_added(
    evaluator: tuple[EvaluatorApp, SharedState, PacedState],
) -> None:
    app, _, paced = evaluator
    paced.release.set()
    await call(app, "AddRecords", pb.AddRecordsRequest(name="d", records_json=imported(
        *[record(n) for n in range(10, 15)])))
    page = await call(app, "ListExamples", pb.ListExamplesRequest(name="d", limit=2))
    read = [json.loads(e.record_json)["trace_id"] for e in page.examples]
    while page.next_page_token:
        # one before the cursor, one among the pages still to read: neither may show up
        added = len(read) * 100
        await call(app, "AddRecords", pb.AddRecordsRequest(name="d", records_json=imported(
            record(added, at=1.0), record(added + 1, at=12.5))))
        page = await call(app, "ListExamples", pb.ListExamplesRequest(
            name="d", limit=2, page_token=page.next_page_token))
        assert page.version == 1
        read += [json.loads(e.record_json)["trace_id"] for e in page.examples]
    assert read == [f"{n:032x}" for n in range(10, 15)]

    first = await call(app, "ListExamples", pb.ListExamplesRequest(name="d", limit=2))
    assert first.version > 1
    for request, fragment in (
        (pb.ListExamplesRequest(name="d", page_token="bm9wZQ"), "page_token is not one this evaluator"),
        (pb.ListExamplesRequest(name="d", version=1, page_token=first.next_page_token),
         f"continues a read of version {first.version}, but version 1 was asked for"),
    ):
        code, details = await refused(app, "ListExamples", request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and fragment in details


async def label_page(app: EvaluatorApp, request: cpb.ExamplesToLabelRequest) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        return await cpb_grpc.CalibrationStub(channel).ExamplesToLabel(
            request, metadata=(("authorization", f"Bearer {API_KEY}"),), timeout=30)


async def test_examples_to_label_come_in_pages_and_samples_are_drawn_over_all_of_them(
    evaluator: tuple[EvaluatorApp, SharedState, PacedState],
) -> None:
    app, state, paced = evaluator
    paced.release.set()
    records = [record(n) for n in range(1, 1201)]
    await state.add_dataset_examples("support", records, now=1.0)
    await state.put_labels([DatasetLabel("support", r.id, r.scorer, HumanLabel.PASS, False, "ann", "", 2.0)
                            for r in records[:3]])
    page = await label_page(app, cpb.ExamplesToLabelRequest(dataset="support", limit=500))
    assert (page.unlabeled, page.labeled, len(page.examples)) == (1197, 3, 500)
    seen = [json.loads(e.record_json)["trace_id"] for e in page.examples]
    # labels given meanwhile (on this page) do not shift the next one
    await state.put_labels([DatasetLabel("support", r.id, r.scorer, HumanLabel.FAIL, False, "ann", "", 3.0)
                            for r in records[3:50]])
    while page.next_page_token:
        page = await label_page(app, cpb.ExamplesToLabelRequest(dataset="support", limit=500,
                                                                page_token=page.next_page_token))
        seen += [json.loads(e.record_json)["trace_id"] for e in page.examples]
    assert seen == [r.trace_id for r in records[3:]]

    sample = await label_page(app, cpb.ExamplesToLabelRequest(dataset="support", sample=5))
    drawn = [json.loads(e.record_json)["trace_id"] for e in sample.examples]
    unlabeled = [r.trace_id for r in records[50:]]
    assert len(set(drawn)) == 5 and set(drawn) <= set(unlabeled) and not sample.next_page_token
    assert drawn == sorted(drawn)  # in dataset order
    for bad in (cpb.ExamplesToLabelRequest(dataset="support", limit=1001),
                cpb.ExamplesToLabelRequest(dataset="support", page_token="%%")):
        with pytest.raises(grpc.aio.AioRpcError) as refused_call:
            await label_page(app, bad)
        assert refused_call.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_interactive_labeling_asks_for_the_next_page_when_one_is_answered(
    evaluator: tuple[EvaluatorApp, SharedState, PacedState], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from judgeval.cli import label_command

    app, state, paced = evaluator
    paced.release.set()
    records = [record(n) for n in range(1, 6)]
    await state.add_dataset_examples("support", records, now=1.0)
    monkeypatch.setattr(label_command, "PAGE_SIZE", 2)
    args = argparse.Namespace(api_url=f"127.0.0.1:{app.port}", api_key=API_KEY, name="support", sample=0,
                              scorer=None, labeler="ann", from_file=None)
    out = io.StringIO()
    code = await asyncio.to_thread(label_command.run_label, args, io.StringIO("p\n" * 5), out)
    assert code == 0 and "5 unlabeled, 0 labeled; labeling 5." in out.getvalue()
    assert "[5/5]" in out.getvalue() and "Labeled 5 (0 fail, 5 pass), skipped 0." in out.getvalue()
    assert paced.pages == 3  # pages of 2, 2 and 1, each asked for once the previous one was answered
    assert sorted(x.record_id for x in await state.dataset_labels("support")) == sorted(r.id for r in records)
