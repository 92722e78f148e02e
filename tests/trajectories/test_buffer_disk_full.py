"""A data directory short of space: feed exports answer UNAVAILABLE before anything is written, the
trajectories already buffered stay intact and are scored, and intake takes copies again once there is room.
A real small filesystem (tmpfs), as in tests/evaluator/test_full_disk.py; needs root."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from judgeval.testing.otlp_receiver import OtlpTraceReceiver

from evaluator_service.config import EvaluatorConfig
from tests.evaluator.test_full_disk import RESERVE, fill, small_fs  # noqa: F401  (the tmpfs fixture)
from tests.support.evaluator import running, wait_for
from tests.support.trajectories import (
    LOOP_SCORER,
    AgentRun,
    ManualClock,
    ScorerShelf,
    ToolLoopScorer,
    agent_run,
    export_feed,
    requests_value,
)


def _padded_run() -> AgentRun:
    return agent_run([("search_web", {"q": "x" * 4000})] * 3, requests=requests_value("trace"))


async def test_a_full_disk_refuses_feed_exports_whole_and_recovers(
    make_config: Callable[..., EvaluatorConfig],
    receiver: OtlpTraceReceiver,
    small_fs: Path,  # noqa: F811
) -> None:
    clock = ManualClock()
    config = make_config(
        {"queue": {"min_free_bytes": RESERVE}, "trajectories": {"grace_s": 5}}, data_dir=small_fs / "data"
    )
    async with running(
        config, clock=clock, trajectory_sources=[ScorerShelf({LOOP_SCORER: ToolLoopScorer()})]
    ) as app:
        first = _padded_run()
        await export_feed(app, first.spans)
        filler = fill(small_fs, RESERVE // 2)
        before = app.trajectories.counters.totals["spans.buffered"]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await export_feed(app, _padded_run().spans)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "full" in (refused.value.details() or "")
        assert app.trajectories.counters.totals["spans.buffered"] == before  # nothing half-written
        assert app.trajectories.counters.totals["spans.refused"] == 5
        filler.unlink()
        again = _padded_run()
        await export_feed(app, again.spans)
        clock.advance(5)
        await app.trajectories.sweeper.sweep()
        received = await wait_for(receiver, lambda s: len(s) >= 2)
    assert sorted(r.trace_id for r in received) == sorted(run.trace_id.hex() for run in (first, again))
