"""A state call cancelled at any point leaves the SQLite connection usable: a BEGIN (or statement) already
handed to the state thread still runs there, and its transaction must be rolled back there, not left open
("cannot start a transaction within a transaction" for every later call: seen when a backfill's client went
away mid-run)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from evaluator_service.state import SqliteSharedState


@pytest.mark.parametrize("cancellations", [1, 2])
async def test_a_call_cancelled_while_its_begin_waits_leaves_no_transaction_open(
        tmp_path: Path, cancellations: int) -> None:
    path = tmp_path / "state.sqlite3"
    state = SqliteSharedState(path)
    await state.open()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another replica holds the write lock: our BEGIN waits for it
    task = asyncio.create_task(state.pause("judge", "key rejected"))
    await asyncio.sleep(0.2)  # the task's BEGIN is now waiting in the state thread
    for _ in range(cancellations):  # e.g. a backfill whose client went away (and a second cancel)
        task.cancel()
        await asyncio.sleep(0)
    other.execute("ROLLBACK")  # the other replica is done: the cancelled call's BEGIN completes
    other.close()
    await asyncio.gather(task, return_exceptions=True)
    await state.pause("other", "rate limited")  # the next transaction starts as usual
    assert [p.name for p in await state.paused_scorers()] == ["other"]
    await state.close()
