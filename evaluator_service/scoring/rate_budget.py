"""Per-scorer request budgets: a token bucket so one busy scorer cannot exhaust a judge's rate limit."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """``rate`` requests per second on average, bursts up to ``burst``; :meth:`acquire` waits its turn."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Take one token, sleeping until one is available."""
        async with self._lock:  # serializes waiters so they are served in arrival order
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)
