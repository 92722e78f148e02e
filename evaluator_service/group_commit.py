"""Storing scored spans for export in shared transactions, split from :mod:`evaluator_service.dispatcher`
along the seam between scoring spans (the dispatcher) and writing them (here): whoever gets the lock
writes everything finished so far, so a burst of scored spans costs one fsync instead of one each."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from evaluator_service.queue import ScoredRow, SpanQueue


class GroupCommit:
    """Stores scored rows in :meth:`SpanQueue.mark_scored` transactions shared by concurrent writers."""

    def __init__(self, store: SpanQueue) -> None:
        self._store = store
        self._lock = asyncio.Lock()
        self._pending: list[tuple[Sequence[ScoredRow], asyncio.Future[None]]] = []

    async def write(self, spans: Sequence[ScoredRow]) -> None:
        """Store scored rows for export, sharing a transaction with other writers."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((spans, done))
        async with self._lock:
            if not done.done():
                batch, self._pending = self._pending, []
                try:
                    await self._store.mark_scored([row for rows, _ in batch for row in rows])
                except BaseException as exc:  # cancellation too: nobody may wait forever on this batch
                    for _, fut in batch:
                        if fut is not done and not fut.done():
                            _fail(fut, exc)
                    raise
                for _, fut in batch:
                    if not fut.done():  # a waiter cancelled at shutdown cancels its own future
                        fut.set_result(None)
        await done


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
