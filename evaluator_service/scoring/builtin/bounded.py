"""Running deterministic built-in scorers without ever freezing the event loop.

Their cost grows with their input, and the input comes from spans. Work on a small input (at most
:data:`INLINE_INPUT_CHARS` characters, with linear-time matching, see
:mod:`~evaluator_service.scoring.builtin.patterns`) costs microseconds and runs on the spot, inline; larger
inputs, and every JSON Schema validation (whose cost depends on the schema too), run in a small thread
pool under :data:`TIME_LIMIT_S`. Work that checks :func:`check_deadline` (the JSON Schema validator does,
before every keyword) stops at the limit; a request over the limit ends with a ``limit`` error instead of a
score, and is not retried.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from evaluator_service.scoring.contract import ScorerLimitError

T = TypeVar("T")

INLINE_INPUT_CHARS = 16 * 1024
"""Inputs up to this size are scored on the event loop (linear-time work of well under a millisecond)."""

TIME_LIMIT_S = 5.0
"""Longest a deterministic scorer may work on one request."""

THREADS = 2
"""Threads scoring large inputs; at most this many requests are worked on at once, the others wait."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_local = threading.local()


class _DeadlinePassed(Exception):
    pass


def check_deadline() -> None:
    """Raise if the bounded call running on this thread is over its time limit (no-op elsewhere)."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise _DeadlinePassed


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="judgeval-builtin-scorer")
        return _pool


def _call_with_deadline(work: Callable[[], T], deadline: float) -> T:
    _local.deadline = deadline
    try:
        return work()
    finally:
        _local.deadline = None


async def run_bounded(work: Callable[[], T], what: str, limit_s: float = TIME_LIMIT_S) -> T:
    """``work()`` on the scorer thread pool, at most ``limit_s`` seconds; raises
    :class:`~evaluator_service.scoring.contract.ScorerLimitError` past the limit.

    The first thing it does is yield to the event loop, before any work is queued: the scorer runner's
    inline pass, which runs a scorer only until its first yield, hands such requests to its async path."""
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    future = loop.run_in_executor(_executor(), _call_with_deadline, work, started + limit_s)
    try:
        async with asyncio.timeout(limit_s + 0.5):  # the deadline check normally ends it first
            return await future
    except (_DeadlinePassed, TimeoutError):
        raise ScorerLimitError(f"{what} took longer than {limit_s:g} s and was stopped") from None
