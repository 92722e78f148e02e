"""The ``trajectories:`` config section: completion timers, the late-span policy and the buffer's bounds.

Defaults, and why:

* ``grace_s: 5`` — a trajectory whose bounding span (the one carrying ``judgeval.trajectory.requests``) has
  reached the evaluator waits this long for stragglers: spans of the same trajectory still in another
  batch, another process's exporter or a collector queue. The SDK ends the bounding span after every span
  below it, so a few batch intervals (the SDK's and the collector's default is 5 s and 1 s) are enough.
* ``trace_idle_s: 180`` — feed copies of a trace whose bounding span never arrives (the process died, the
  span was dropped) are given up after this much silence, counted as ``unbounded``; Datadog's per-trace idle
  is 3 min, Phoenix's 300 s, Opik's 15 min: a trace of one agent run rarely pauses longer than its longest
  LLM or tool call.
* ``session_idle_s: 900`` — a session is scored after 15 minutes without a new span (Opik 15 min, Datadog
  30 min): long enough for a user to read an answer and type the next turn, short enough for alerts to matter.
* ``late_rescores: 3`` — a span arriving after its trajectory was scored re-opens it (for sessions this is the
  session resuming) and it is scored again after ``grace_s`` (sessions: ``session_idle_s``) under the same
  result key; after this many re-scores a trajectory's later spans are counted as ``late`` and not buffered.
* ``retention_s: 3600`` — how long a scored trajectory keeps its spans for such re-scores.
* ``max_spans_per_trajectory``, ``max_bytes``, ``max_trajectories`` — the buffer's bounds (see
  :mod:`evaluator_service.trajectories.buffer`).
* ``direct: false`` — with a collector, the trajectory feed brings the copies; set it when agents export
  straight to the evaluator, so ordinary exports also buffer copies of the spans marked for trajectory
  scoring (W3C tracestate ``judgeval=t`` or the requests attribute), and, with ``scope: trace`` /
  ``scope: session`` rules, of every span of a trace one of those rules samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator_service.config_values import ConfigError, Section

SECTION_KEYS = frozenset(
    {
        "grace_s",
        "trace_idle_s",
        "session_idle_s",
        "late_rescores",
        "retention_s",
        "max_spans_per_trajectory",
        "max_bytes",
        "max_trajectories",
        "tick_s",
        "direct",
    }
)


@dataclass(frozen=True)
class TrajectoryConfig:
    """How trajectories are buffered, completed and re-scored (YAML ``trajectories:``)."""

    grace_s: float = 5.0
    trace_idle_s: float = 180.0
    session_idle_s: float = 900.0
    late_rescores: int = 3
    retention_s: float = 3600.0
    max_spans_per_trajectory: int = 10_000
    max_bytes: int = 1024 * 1024 * 1024
    max_trajectories: int = 100_000
    tick_s: float = 0.5
    """How often the completion sweep looks for trajectories that are due."""
    direct: bool = False
    """Agents export straight to the evaluator (no collector, so no trajectory feed): ordinary exports also
    put a copy of every span marked for trajectory scoring, or of a trace a trajectory rule samples, into
    the buffer."""


def parse_trajectories(s: Section) -> TrajectoryConfig:
    s.reject_unknown(SECTION_KEYS)
    d = TrajectoryConfig()
    return TrajectoryConfig(
        grace_s=s.number("grace_s", d.grace_s),
        trace_idle_s=s.number("trace_idle_s", d.trace_idle_s, strict=True),
        session_idle_s=s.number("session_idle_s", d.session_idle_s, strict=True),
        late_rescores=s.integer("late_rescores", d.late_rescores, minimum=0),
        retention_s=s.number("retention_s", d.retention_s),
        max_spans_per_trajectory=s.integer("max_spans_per_trajectory", d.max_spans_per_trajectory, minimum=1),
        max_bytes=s.integer("max_bytes", d.max_bytes, minimum=1),
        max_trajectories=s.integer("max_trajectories", d.max_trajectories, minimum=1),
        tick_s=s.number("tick_s", d.tick_s, strict=True),
        direct=_flag(s, "direct", d.direct),
    )


def _flag(s: Section, key: str, default: bool) -> bool:
    value = s.data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{s.where(key)}: must be true or false, got {value!r}")
    return value
