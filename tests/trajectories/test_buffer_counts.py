"""The buffer's running byte and trajectory counts match what a fresh open counts from the tables, through
ingests, evictions and deletes; each distinct envelope is stored once and dropped when unused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from evaluator_service.trajectories import buffer as buffer_module
from evaluator_service.trajectories.buffer import TrajectoryBuffer, trace_key
from evaluator_service.trajectories.completion import CompletionPolicy
from evaluator_service.trajectories.feed import feed_spans
from evaluator_service.trajectories.settings import TrajectoryConfig
from tests.support.spans import make_request
from tests.support.trajectories import clean_run, looping_run, requests_value

POLICY = CompletionPolicy(TrajectoryConfig())


async def _open(path: Path) -> TrajectoryBuffer:
    return await TrajectoryBuffer.open(
        path, POLICY, max_bytes=1 << 30, max_trajectories=3, max_spans_per_trajectory=100
    )


async def test_running_counts_match_a_recount_and_envelopes_are_shared(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(buffer_module, "ENVELOPE_GC_EVERY", 1)
    buffer = await _open(tmp_path)
    runs = [looping_run(3, requests=requests_value("trace")), clean_run(requests=requests_value("trace"))]
    for i, run in enumerate(runs):
        spans, _ = feed_spans(make_request(run.spans, service=f"svc-{i}"))
        await buffer.ingest(spans, now=1.0)
    await buffer.finish(trace_key(runs[0].trace_id), due_at=5.0, revision=0)  # scored: evictable
    for extra in (clean_run(requests=requests_value("trace")), clean_run(requests=requests_value("trace"))):
        spans, _ = feed_spans(make_request(extra.spans, service="svc-0"))
        await buffer.ingest(spans, now=2.0)  # the second one evicts the scored trajectory
    await buffer.delete(trace_key(runs[1].trace_id))
    counted = (buffer.byte_count, buffer.trajectory_count)
    await buffer.close()
    with sqlite3.connect(tmp_path / "trajectories.sqlite3") as db:
        envelopes = db.execute("SELECT COUNT(*) FROM envelopes").fetchone()[0]
    reopened = await _open(tmp_path)
    assert (reopened.byte_count, reopened.trajectory_count) == counted
    assert counted[1] == 2 and counted[0] > 0
    assert envelopes == 2  # svc-1's resource went with its last span; svc-0's and the one scope remain
    await reopened.close()


async def test_a_buffer_file_of_an_older_evaluator_gets_the_new_columns_and_keeps_its_trajectories(
    tmp_path: Path,
) -> None:
    run = looping_run(2, requests=requests_value("trace"))
    buffer = await _open(tmp_path)
    spans, _ = feed_spans(make_request(run.spans))
    await buffer.ingest(spans, now=1.0)
    await buffer.close()
    with sqlite3.connect(tmp_path / "trajectories.sqlite3") as db:  # as the first release wrote it
        db.execute("ALTER TABLE trajectories DROP COLUMN grace_s")
    reopened = await _open(tmp_path)
    late, _ = feed_spans(make_request([run.children[0]]))
    await reopened.ingest(late, now=2.0)  # reads and writes the added column
    [due] = await reopened.due(now=100.0)
    assert due.key == trace_key(run.trace_id) and due.requests is not None
    assert len(await reopened.spans_of([run.trace_id])) == len(run.spans) + 1
    await reopened.close()
