"""The shared-state contract: what evaluator replicas must agree on, behind one small async interface.

Two things are shared: paused scorers (a judge rejecting our credentials on one replica must stop the
scorer on all of them) and the registry of uploaded scorers (metadata, source and requirements text, so
any replica can run a scorer uploaded through another one's admin API). The durable span queue is *not*
here: each replica owns the spans the collector's load balancer sent it.

Every write bumps one change counter in the same transaction, so a replica notices another replica's
change with one cheap ``SELECT`` (see :class:`~evaluator_service.state.watch.ChangeWatcher`).
Implementations raise :class:`StateUnavailable` for any database failure, never a driver exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from evaluator_service.errors import EvaluatorError
from evaluator_service.state.alert_state import AlertState
from evaluator_service.state.behavior_rows import BehaviorState

__all__ = [
    "PausedScorer",
    "ScorerFiles",
    "SharedState",
    "StateUnavailable",
    "StoredScorer",
    "VersionChooser",
]


class StateUnavailable(EvaluatorError):
    """The state database cannot be reached or refused the operation; the message never holds a password."""


@dataclass(frozen=True, slots=True)
class PausedScorer:
    """A scorer an operator (or a fatal judge error) paused, on every replica sharing the state."""

    name: str
    reason: str
    paused_at: float


@dataclass(frozen=True, slots=True)
class StoredScorer:
    """Metadata of one stored scorer version."""

    name: str
    version: int
    sha256: str
    created_at: float
    class_name: str
    source_filename: str
    requirements_hash: str


@dataclass(frozen=True, slots=True)
class ScorerFiles:
    """The uploaded text of one scorer version (source is at most 1 MiB, requirements 64 KiB)."""

    source: str
    requirements: str


VersionChooser = Callable[[list[StoredScorer]], int]
"""Given every stored version whose name shares the new scorer's attribute key, return the version number
to write, or raise to refuse the upload. Called inside the allocating transaction, so it sees a stable set."""


class SharedState(AlertState, BehaviorState, Protocol):
    """Pauses and uploaded scorers shared by every replica using the same database URL."""

    display_url: str
    """The database URL with any password masked, for messages."""

    async def open(self) -> None:
        """Connect and create the schema if missing (idempotent); :class:`StateUnavailable` if unreachable."""
        ...

    async def close(self) -> None:
        """Release the connection; the object cannot be used afterwards."""
        ...

    async def change_counter(self) -> int:
        """A number that grows with every write by any replica."""
        ...

    async def pause(self, name: str, reason: str) -> None:
        """Mark ``name`` paused (replacing an earlier reason)."""
        ...

    async def resume(self, name: str) -> bool:
        """Unpause ``name``; returns whether it was paused."""
        ...

    async def paused_scorers(self) -> list[PausedScorer]:
        """Every paused scorer, by name."""
        ...

    async def scorer_versions(self) -> list[StoredScorer]:
        """Metadata of every stored scorer version, by name then version."""
        ...

    async def scorer_files(self, name: str, version: int) -> tuple[StoredScorer, ScorerFiles] | None:
        """Metadata and text of one version, or ``None`` if it is gone."""
        ...

    async def store_version(self, draft: StoredScorer, files: ScorerFiles, choose: VersionChooser
                            ) -> StoredScorer:
        """Write ``draft`` under the version ``choose`` picks (insert, or replace on overwrite), atomically
        with the choice: two replicas uploading the same name never get the same new version."""
        ...

    async def delete_versions(self, name: str, version: int | None) -> list[StoredScorer]:
        """Delete one version (or all when ``version`` is ``None``); returns what was deleted."""
        ...
