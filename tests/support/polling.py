"""Waiting for something that happens on another thread or process: always with a deadline.

A test that polls without one can hang until the global timeout (or forever); a test that sleeps and then
asserts that nothing happened cannot fail when the thing it waits for is merely slow. Poll for a positive
condition with :func:`eventually` instead, and let a timeout name what was missing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 20.0
POLL_INTERVAL_S = 0.02


def _describe(what: str | Callable[[], str]) -> str:
    return what() if callable(what) else what


def eventually(
    check: Callable[[], T],
    what: str | Callable[[], str],
    timeout: float = DEFAULT_TIMEOUT_S,
    interval: float = POLL_INTERVAL_S,
) -> T:
    """Call ``check`` until it returns something truthy and return that; ``TimeoutError`` after ``timeout``.

    ``what`` names the awaited condition (or is called to describe the state when the deadline passes).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {_describe(what)}")
        time.sleep(interval)


async def eventually_async(
    check: Callable[[], T],
    what: str | Callable[[], str],
    timeout: float = DEFAULT_TIMEOUT_S,
    interval: float = POLL_INTERVAL_S,
) -> T:
    """:func:`eventually` for code on an event loop: ``check`` runs on the loop, which keeps running."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {_describe(what)}")
        await asyncio.sleep(interval)
