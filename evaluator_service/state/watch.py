"""Noticing other replicas' changes: poll the shared change counter, refresh when it moved.

Polling one integer per second is cheap on both backends and needs no extra connection (LISTEN/NOTIFY
would need a dedicated one per replica and still a poll fallback after reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from evaluator_service.state.contract import SharedState, StateUnavailable

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0


class ChangeWatcher:
    """Calls ``refresh()`` when the shared state changed since the last refresh; :meth:`check` on demand
    (concurrent callers share one check), :meth:`start` for a background poll every ``interval_s``."""

    def __init__(self, state: SharedState, refresh: Callable[[], Awaitable[None]],
                 interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._state = state
        self._refresh = refresh
        self.interval_s = interval_s
        self._seen: int | None = None
        self._check: asyncio.Task[None] | None = None
        self._poll: asyncio.Task[None] | None = None
        self._failing = False

    async def check(self) -> None:
        """Refresh if anything changed; raises :class:`StateUnavailable` if the database is down."""
        if self._check is None or self._check.done():
            self._check = asyncio.get_running_loop().create_task(self._check_once())
        await asyncio.shield(self._check)

    async def _check_once(self) -> None:
        counter = await self._state.change_counter()  # read first: a change after it is caught next time
        if counter != self._seen:
            await self._refresh()
            self._seen = counter

    def invalidate(self) -> None:
        """Make the next check refresh even if the counter did not move (e.g. a local write is pending)."""
        self._seen = None

    def start(self) -> None:
        """Start the background poll (idempotent)."""
        if self._poll is None:
            self._poll = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the background poll."""
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
            self._poll = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except StateUnavailable as exc:
                if not self._failing:  # one line per outage, not one per second
                    logger.error("%s; keeping the last known state until it is back", exc)
                self._failing = True
            except Exception:
                logger.exception("refreshing shared state failed")
            else:
                if self._failing:
                    logger.warning("state database reachable again")
                self._failing = False
