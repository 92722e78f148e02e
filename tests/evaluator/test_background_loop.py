"""The shared background-task shape (evaluator_service.background_loop): a wake-up ends the current wait,
stop cancels the task and waits for it, and a loop never started stops as a no-op."""

from __future__ import annotations

import asyncio

from evaluator_service.background_loop import BackgroundLoop


async def test_wake_ends_a_long_wait_and_stop_ends_the_task() -> None:
    rounds: list[int] = []
    round_done = asyncio.Event()

    async def body() -> None:
        while True:
            rounds.append(len(rounds))
            round_done.set()
            await loop.wait(3600)  # only a wake-up gets the next round

    loop = BackgroundLoop("test-loop", body)
    loop.start()
    assert loop.running
    await round_done.wait()
    round_done.clear()
    loop.wake()
    await round_done.wait()
    assert rounds == [0, 1]
    task = next(t for t in asyncio.all_tasks() if t.get_name() == "test-loop")
    await loop.stop()
    assert task.done() and task.cancelled()
    assert not loop.running


async def test_a_wake_before_the_wait_is_kept_for_it_and_then_used_up() -> None:
    async def body() -> None:
        raise AssertionError("never started")

    loop = BackgroundLoop("unused", body)
    loop.wake()
    await loop.wait(3600)  # returns at once: the earlier wake-up counts
    waiting = asyncio.ensure_future(loop.wait(3600))
    await asyncio.sleep(0)
    assert not waiting.done()  # the wake-up was used up
    loop.wake()
    await waiting


async def test_stop_without_start_does_nothing() -> None:
    async def body() -> None:
        raise AssertionError("never started")

    loop = BackgroundLoop("never", body)
    await loop.stop()
    assert not loop.running
