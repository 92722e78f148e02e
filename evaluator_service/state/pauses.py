"""Paused scorers in the shared state: a judge rejecting our credentials on one replica must stop the
scorer on all of them, and ``pauses.resume`` on any replica resumes it everywhere."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from evaluator_service.state import schema
from evaluator_service.state.transaction import TransactionSource


@dataclass(frozen=True, slots=True)
class PausedScorer:
    """A scorer an operator (or a fatal judge error) paused, on every replica sharing the state."""

    name: str
    reason: str
    paused_at: float


class PauseState(Protocol):
    """The pause part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def pause(self, name: str, reason: str) -> None:
        """Mark ``name`` paused (replacing an earlier reason)."""
        ...

    async def resume(self, name: str) -> bool:
        """Unpause ``name``; returns whether it was paused."""
        ...

    async def paused_scorers(self) -> list[PausedScorer]:
        """Every paused scorer, by name."""
        ...


class SqlPauses(TransactionSource):
    """:class:`PauseState` over the backend's transactions; every change bumps the change counter."""

    async def pause(self, name: str, reason: str) -> None:
        async with self._transaction() as tx:
            await tx.execute(schema.UPSERT_PAUSE, (name, reason, time.time()))
            await tx.execute(schema.BUMP_COUNTER)

    async def resume(self, name: str) -> bool:
        async with self._transaction() as tx:
            was_paused = bool(await tx.execute(schema.SELECT_PAUSES_NAMED, (name,)))
            if was_paused:
                await tx.execute(schema.DELETE_PAUSE, (name,))
                await tx.execute(schema.BUMP_COUNTER)
        return was_paused

    async def paused_scorers(self) -> list[PausedScorer]:
        async with self._transaction() as tx:
            rows = await tx.execute(schema.SELECT_PAUSES)
        return [PausedScorer(str(n), str(r), float(t)) for n, r, t in rows]
