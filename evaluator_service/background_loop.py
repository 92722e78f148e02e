"""The shape every periodic background job of the evaluator shares: one named asyncio task started once,
a wake-up that cuts its current wait short, and a stop that cancels the task and waits for it to end.

Used by the trajectory sweep, the result-log forwarder, the console recorder and the calibration monitor;
each keeps its own loop body (what one round does, how it handles its errors) and only hands the task
here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class BackgroundLoop:
    """Runs ``body()`` as the task ``name`` between :meth:`start` and :meth:`stop`; the body waits for its
    next round with :meth:`wait`, which :meth:`wake` ends early."""

    def __init__(self, name: str, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.name = name
        self._body = body
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the task was started and not stopped."""
        return self._task is not None

    def start(self) -> None:
        """Start the task on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._body(), name=self.name)

    def wake(self) -> None:
        """End the body's current (or next) :meth:`wait` at once."""
        self._wake.set()

    async def wait(self, timeout: float) -> None:
        """Wait until :meth:`wake` or ``timeout`` seconds, whichever comes first; a wake-up is used up."""
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that arrives just as the
        # event is set, and the task would outlive stop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        self._wake.clear()

    async def stop(self) -> None:
        """Cancel the task and wait until it ended (nothing to do when it was never started)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
