"""Per-scorer request budgets: a token bucket so one busy scorer cannot exhaust a judge's rate limit.

A bucket hands out *reservations*: a call takes the next free slot at once (the bucket may go below zero
tokens) and sleeps until that slot's time, so callers are served in arrival order without a lock. A caller
with a bound on its wait (:func:`reserve_together`) is refused, and reserves nothing, when the slot it
would get lies further out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence


class TokenBucket:
    """``rate`` requests per second on average, bursts up to ``burst``; :meth:`acquire` waits its turn."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()

    def wait_s(self) -> float:
        """Seconds the next reservation would wait (0: a token is here now)."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def reserve(self) -> float:
        """Take the next slot; returns the seconds until it is due."""
        wait = self.wait_s()
        self._tokens -= 1.0
        return wait

    async def acquire(self) -> None:
        """Take one token, sleeping until its slot is due."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


def reserve_together(buckets: Sequence[TokenBucket], max_wait_s: float) -> float | TokenBucket:
    """Reserve a slot in every bucket if none of them makes the caller wait more than ``max_wait_s``:
    returns the seconds to sleep before the call. Otherwise nothing is reserved and the first bucket that
    is too far behind is returned (for the caller's message)."""
    for bucket in buckets:
        if bucket.wait_s() > max_wait_s:
            return bucket
    return max((bucket.reserve() for bucket in buckets), default=0.0)
