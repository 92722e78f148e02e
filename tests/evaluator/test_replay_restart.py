"""A replay interrupted by an evaluator restart keeps what finished: the real ``judgeval-evaluator`` process
records a running replay's finished cases as it goes, so after it is killed midway (SIGKILL: no shutdown
code runs) and started again, the run is listed with the cases that finished, marked incomplete; a call
whose client goes away is recorded the same way."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
import yaml
from judgeval.admin.v1 import evaluation_pb2 as pb
from judgeval.admin.v1 import evaluation_pb2_grpc as pb_grpc
from judgeval.testing.openai_server import RecordedOpenAIServer
from judgeval.testing.recording import Recording

from evaluator_service.admin.evaluation_servicer import RECORD_EVERY_S
from evaluator_service.state import SqliteSharedState

KEY = "operator-key"
SCORER = "relevancy"
QUICK = '{"score": 1, "reason": "answers it"}'
# The third case answers after RECORD_EVERY_S, so its result is recorded before the client sees it; the
# fourth is never answered while the first evaluator lives.
JUDGE = [Recording(match=["zqcase0"], answer=QUICK), Recording(match=["zqcase1"], answer=QUICK),
         Recording(match=["zqcase2"], answer=QUICK, delay_ms=int(RECORD_EVERY_S * 1000) + 500),
         Recording(match=["zqcase"], answer=QUICK, delay_ms=60_000)]


@pytest.fixture
def judge() -> Iterator[RecordedOpenAIServer]:
    with RecordedOpenAIServer(JUDGE) as server:
        yield server


@contextmanager
def evaluator(tmp_path: Path, judge: RecordedOpenAIServer, name: str) -> Iterator[tuple[subprocess.Popen[str],
                                                                                        str]]:
    config = tmp_path / "evaluator.yaml"
    config.write_text(yaml.safe_dump({
        "judge": {"base_url": judge.base_url, "model": "judge-model"},
        "scorers": [{"name": SCORER, "type": "answer_relevancy"}],
        "scoring": {"timeout_s": 120, "max_retries": 0, "concurrency": 1},
        "sandbox": {"isolation": "none", "network": "host"}}))
    ours = ("JUDGEVAL_EVALUATOR_", "OTEL_", "JUDGMENT_", "OPENAI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)} | {"OPENAI_API_KEY": "test-key"}
    command = [sys.executable, "-m", "evaluator_service", "--listen", "127.0.0.1:0", "--data-dir",
               str(tmp_path / "data"), "--config", str(config), "--api-key", KEY]
    with (tmp_path / f"{name}.log").open("w") as stderr, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("judgeval-evaluator listening on 127.0.0.1:"), line
            yield process, line.strip().rsplit(" ", 1)[1]
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(30)


def request(run_id: str, count: int) -> pb.RunEvaluationRequest:
    return pb.RunEvaluationRequest(scorer=SCORER, run_id=run_id, dataset="refunds", cases=[
        pb.EvaluationCase(id=f"case-{i}", threshold=0.5, production_passed=False,
                          example_json=f'{{"input": "zqcase{i} where is my parcel?", '
                                       f'"actual_output": "on its way"}}')
        for i in range(count)])


async def results(address: str, call: pb.RunEvaluationRequest, stop_after: int | None = None) -> int:
    """Results read from the stream (``stop_after`` of them, then stop reading but keep the call open)."""
    seen = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stream = pb_grpc.EvaluationStub(channel).RunEvaluation(
            call, metadata=(("authorization", f"Bearer {KEY}"),), timeout=120)
        async for event in stream:
            seen += event.HasField("result")
            if seen == stop_after:
                return seen
    return seen


async def recorded(tmp_path: Path) -> dict[str, tuple[int, int, int, int, bool]]:
    state = SqliteSharedState(tmp_path / "data" / "state.sqlite3")
    await state.open()
    try:
        return {r.run_id: (r.cases, r.planned_cases, r.passed, r.calls, r.complete)
                for r in await state.replay_runs()}
    finally:
        await state.close()


async def test_a_replay_cut_by_a_killed_evaluator_is_listed_with_what_finished(
    tmp_path: Path, judge: RecordedOpenAIServer
) -> None:
    with evaluator(tmp_path, judge, "first") as (process, address):
        assert await results(address, request("interrupted", 6), stop_after=3) == 3
        process.kill()  # no shutdown code runs: only what was recorded while scoring survives
        await asyncio.to_thread(process.wait, 30)
    assert await recorded(tmp_path) == {"interrupted": (3, 6, 3, 0, False)}

    with evaluator(tmp_path, judge, "second") as (process, address):
        assert await results(address, request("after-restart", 2)) == 2
        # a client that goes away after two results: the call ends cut short, its finished cases recorded
        assert await results(address, request("client-gone", 6), stop_after=2) == 2
        for _ in range(300):
            if (runs := await recorded(tmp_path)).get("client-gone", (0, 0, 0, 0))[3] == 1:
                break
            await asyncio.sleep(0.1)
    assert runs == {"interrupted": (3, 6, 3, 0, False), "after-restart": (2, 2, 2, 1, True),
                    "client-gone": (2, 6, 2, 1, False)}
    assert "Traceback" not in (tmp_path / "second.log").read_text()
