"""Behavior lifecycle events: what the behaviors (issues) engine tells others, e.g. the alert engine.

Events are durable: the behaviors engine appends each one to an ordered log in the state database (shared by
replicas, so one transition is one event however many replicas saw it) and consumers read the log from a
cursor of their own, so a consumer that is down or slow misses nothing. ``event_id`` is unique and stable
(webhook receivers de-duplicate on it); ``sequence`` orders the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class BehaviorEventKind(StrEnum):
    """What happened to a behavior."""

    CREATED = "behavior.created"
    """A new behavior (failure mode, error group or input pattern) was discovered."""
    INCREASING = "behavior.increasing"
    """Its rate rose well above its usual rate."""
    RESOLVED = "behavior.resolved"
    """It stopped appearing for long enough relative to its usual rate."""
    REGRESSED = "behavior.regressed"
    """It appeared again after it was resolved."""


@dataclass(frozen=True, slots=True)
class BehaviorEvent:
    """One lifecycle event of one behavior."""

    sequence: int
    event_id: str
    kind: BehaviorEventKind
    behavior_id: str
    name: str
    scorer: str
    severity: str
    state: str
    at: float
    member_count: int = 0
    services: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    example_trace_ids: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    """Filterable context: ``deployment.environment.name``, the behavior kind (failure, error, input)."""


class BehaviorEventLog(Protocol):
    """Reads the durable event log, oldest first."""

    async def events_after(self, sequence: int, limit: int = 100) -> list[BehaviorEvent]:
        """Events whose ``sequence`` is greater than ``sequence`` (0: from the start), at most ``limit``."""
        ...
