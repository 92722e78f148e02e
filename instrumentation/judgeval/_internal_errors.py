"""What the SDK does with its own bugs: log them in production, re-raise them under pytest.

judgeval runs inside the user's agent, so a failure of judgeval's own code must never break the user's call:
it is logged and the call goes on (untraced, or with a span missing an attribute). In a test that would let
a half-broken span pass unnoticed, so, as pydantic logfire does, the same error is re-raised while pytest
runs. The user's own exceptions never go through here: they always propagate unchanged.

Use :func:`log_internal_error` inside the ``except`` block that catches judgeval's own failure. Tests that
check the production behaviour turn re-raising off with :func:`reraise_internal_errors`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

logger = logging.getLogger("judgeval")

_forced: bool | None = None  # None: decided by whether pytest is running


def _pytest_is_running() -> bool:
    # PYTEST_CURRENT_TEST also reaches the subprocesses a test starts (an agent under test re-raises too).
    return "pytest" in sys.modules or "PYTEST_CURRENT_TEST" in os.environ


def internal_errors_reraised() -> bool:
    """Whether judgeval's own errors are re-raised (under pytest, unless switched off) instead of logged."""
    return _pytest_is_running() if _forced is None else _forced


@contextlib.contextmanager
def reraise_internal_errors(enabled: bool) -> Iterator[None]:
    """Within the block, re-raise judgeval's own errors (``True``) or only log them (``False``).

    For tests: the production path (log and carry on) is only reachable under pytest with this set to
    ``False``. Process-wide, so background threads (export, local scoring) see it too.
    """
    global _forced
    previous, _forced = _forced, enabled
    try:
        yield
    finally:
        _forced = previous


def log_internal_error(message: str, *args: object) -> None:
    """Handle the exception being handled (call inside ``except``): re-raise it under pytest, else log it.

    ``message`` and ``args`` are formatted like :meth:`logging.Logger.exception`, traceback included.
    """
    if internal_errors_reraised():
        raise  # the exception the caller's ``except`` block is handling
    logger.exception(message, *args)


__all__ = ["internal_errors_reraised", "log_internal_error", "reraise_internal_errors"]
