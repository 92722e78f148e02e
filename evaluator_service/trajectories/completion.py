"""When a trajectory is complete, and what a span arriving after its score does (the late-span policy).

Every decision is a deadline (``due_at``, wall-clock seconds) computed from the time a span reached this
evaluator, so the sweep only asks the buffer which trajectories are due, and tests drive it with an injected
clock. Wall-clock time, not a monotonic one, because deadlines outlive the process in the buffer.

* A trace whose bounding span arrived (it carries ``judgeval.trajectory.requests``) is due ``grace_s`` after
  that arrival: the explicit end marker plus a short wait for stragglers. A ``scope: trace`` rule may give
  its own ``grace_s`` for the traces it bounds (else they wait for its ``idle_s`` of silence); SDK-bounded
  traces always use ``trajectories.grace_s``.
* A trace without one yet is due ``trace_idle_s`` after its first span; every later span does not move it
  (the bounding span does). At that deadline a trace that never got a bounding span is given up and counted
  ``unbounded`` (its spans were copies: the originals reached the backend on their own route).
* A session is due ``session_idle_s`` after the last span of any of its traces.
* **Late spans.** A span of a trace that was already scored re-opens it, due ``grace_s`` later, and its
  new result carries the same result key with the next revision, superseding the old one; a trace is
  re-opened at most ``late_rescores`` times, after which its late spans are counted ``late`` and not
  buffered (never blocking the export that carried them). A span of a scored *session* is the session
  resuming: it is re-opened, due ``session_idle_s`` after its last span, with no limit.
* A scored trajectory is kept ``retention_s`` for late spans, then forgotten (``expired``).
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.trajectories.settings import TrajectoryConfig


@dataclass(frozen=True, slots=True)
class Tracked:
    """What the policy needs to know about a trace trajectory a span arrived for."""

    state: int
    has_requests: bool
    revision: int
    """The revision of its last result (-1: never scored)."""
    grace_s: float | None = None
    """The grace of the rule that bounded it (``None``: ``trajectories.grace_s``)."""


@dataclass(frozen=True, slots=True)
class LateDecision:
    """What to do with a span of a DONE trajectory: re-open it until ``due_at``, or ``refuse`` (count it)."""

    refuse: bool
    due_at: float = 0.0


class CompletionPolicy:
    """Deadlines and the late-span policy of :mod:`evaluator_service.trajectories`, from the config."""

    def __init__(self, config: TrajectoryConfig) -> None:
        self.config = config

    def bounded_due(self, arrived: float, grace_s: float | None = None) -> float:
        """When a trace whose bounding span arrived at ``arrived`` is complete (``grace_s``: a rule's own)."""
        return arrived + (self.config.grace_s if grace_s is None else grace_s)

    def unbounded_due(self, first_seen: float) -> float:
        """When a trace without a bounding span is given up."""
        return first_seen + self.config.trace_idle_s

    def session_due(self, last_seen: float) -> float:
        """When a session whose last span arrived at ``last_seen`` is complete."""
        return last_seen + self.config.session_idle_s

    def held_due(self, now: float) -> float:
        """How long a scored trajectory (or a trace held only for its session) is kept for late spans."""
        return now + max(self.config.retention_s, self.config.session_idle_s)

    def on_late_span(self, tracked: Tracked, now: float) -> LateDecision:
        """A span arrived for a DONE trace trajectory."""
        if not tracked.has_requests:  # held for its session only: keep the span, nothing of its own to score
            return LateDecision(refuse=False, due_at=self.held_due(now))
        if tracked.revision + 1 > self.config.late_rescores:
            return LateDecision(refuse=True)
        return LateDecision(refuse=False, due_at=self.bounded_due(now, tracked.grace_s))
