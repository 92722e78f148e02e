"""Buffered trajectories survive SIGKILL: a feed export is acknowledged only once durable, and after a
restart the trajectory is scored exactly once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import yaml
from judgeval import semconv
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from evaluator_service.config import EvaluatorConfig
from tests.support.evaluator import FAST_RETRIES, running, wait_drained, wait_for
from tests.support.processes import REPO_ROOT
from tests.support.spans import make_request
from tests.support.trajectories import (
    FEED_METADATA,
    LOOP_SCORER,
    ManualClock,
    ScorerShelf,
    ToolLoopScorer,
    looping_run,
    requests_value,
)

HOUR = 3600.0


def _export_feed(port: int, spans: list) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            make_request(spans), metadata=FEED_METADATA, timeout=10
        )


async def test_sigkill_while_trajectories_are_buffered_then_restart_scores_each_once(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver, tmp_path: Path
) -> None:
    # A long grace: the process is killed while the trajectories wait in its buffer.
    doc = {**FAST_RETRIES, "trajectories": {"grace_s": HOUR, "tick_s": 0.05}}
    config_file = tmp_path / "killed.yaml"
    config_file.write_text(yaml.safe_dump(doc))
    data_dir = tmp_path / "data"
    runs = [looping_run(4, requests=requests_value("trace")) for _ in range(3)]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.trajectory_evaluator",
            str(config_file),
            str(data_dir),
            receiver.endpoint,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split()[1])
        for run in runs:  # each Export returns only after its copies are committed
            await asyncio.to_thread(_export_feed, port, run.spans)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert receiver.spans == []

    clock, scorer = ManualClock(), ToolLoopScorer()
    clock.advance(HOUR * 2)  # well past the grace: the restarted evaluator finds all three due
    config = make_config({"trajectories": {"grace_s": HOUR, "tick_s": 0.05}}, data_dir=data_dir)
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        await app.trajectories.sweeper.sweep()
        received = await wait_for(receiver, lambda s: len(s) >= 3)
        await wait_drained(app)
    async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: scorer})], clock=clock) as app:
        assert await app.trajectories.sweeper.sweep() == 0  # scored ones are not scored again
    assert sorted(r.trace_id for r in received) == sorted(run.trace_id.hex() for run in runs)
    assert all(r.attributes[score_attribute(LOOP_SCORER, ScoreField.VALUE)] == 0.0 for r in received)
    assert all(r.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == 6 for r in received)
    assert len(scorer.seen) == 3
