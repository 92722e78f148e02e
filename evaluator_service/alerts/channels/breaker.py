"""A per-target circuit breaker: stop hammering a channel that keeps failing, probe it after a cool-down.

``closed`` (normal) → ``open`` after ``failures`` consecutive failed tries → after ``cooldown`` seconds one
try is let through as a probe (``half_open``) → ``closed`` if it succeeds, ``open`` again (a new cool-down)
if it fails. While open, tries are refused without touching the network; the engine keeps the notification
and asks again later. Time comes from an injected clock, so tests need no sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class CircuitState(StrEnum):
    """Values of the ``state`` metric attribute and of :attr:`CircuitBreaker.state`."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class CircuitSnapshot:
    """A breaker as the admin API shows it (``judgeval alerts show``)."""

    state: CircuitState
    consecutive_failures: int
    failures_to_open: int
    last_failure: str = ""
    """Detail of the last failed try; empty before the first failure."""
    next_probe_in_s: float | None = None
    """While open: seconds until a probe may go out (0 once the cool-down is over); else ``None``."""


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a try may go out now; when not, how long until the next probe."""

    allowed: bool
    probe: bool = False
    retry_in_s: float = 0.0


class CircuitBreaker:
    """State of one target. Not thread-safe: used from the event loop only."""

    def __init__(self, failures: int, cooldown_s: float, clock: Callable[[], float]) -> None:
        self.failures_to_open = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.state = CircuitState.CLOSED
        self.consecutive_failures = 0
        self.last_failure = ""
        """Detail of the last failed try (shown when the circuit opens)."""
        self._opened_at = 0.0
        self._probing = False

    def admit(self) -> Admission:
        """May a try go out now? Moves ``open`` to ``half_open`` once the cool-down is over; only one probe
        at a time while half-open."""
        if self.state is CircuitState.CLOSED:
            return Admission(True)
        remaining = self._opened_at + self.cooldown_s - self._clock()
        if self.state is CircuitState.OPEN and remaining <= 0:
            self.state = CircuitState.HALF_OPEN
        if self.state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            return Admission(True, probe=True)
        return Admission(False, retry_in_s=max(0.0, remaining))

    def snapshot(self) -> CircuitSnapshot:
        """The current state, without moving it (an open circuit past its cool-down stays ``open`` until the
        next try probes it)."""
        probe_in = (max(0.0, self._opened_at + self.cooldown_s - self._clock())
                    if self.state is CircuitState.OPEN else None)
        return CircuitSnapshot(self.state, self.consecutive_failures, self.failures_to_open,
                               self.last_failure, probe_in)

    def abandon(self) -> None:
        """An admitted try was cancelled before it had an outcome: let the next probe through."""
        self._probing = False

    def record(self, ok: bool, detail: str = "") -> CircuitState | None:
        """The outcome of an admitted try; returns the new state when it changed, else ``None``."""
        before = self.state
        self._probing = False
        if ok:
            self.consecutive_failures = 0
            self.state = CircuitState.CLOSED
        else:
            self.consecutive_failures += 1
            self.last_failure = detail
            if self.state is CircuitState.HALF_OPEN or self.consecutive_failures >= self.failures_to_open:
                self.state = CircuitState.OPEN
                self._opened_at = self._clock()
        return self.state if self.state is not before else None
