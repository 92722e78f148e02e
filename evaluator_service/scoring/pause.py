"""Paused scorers: a scorer whose judge rejects our credentials stops running until an operator resumes it.

The registry is kept in the durable store (so a pause survives restarts) and mirrored in memory (so the
hot path is a set lookup). :meth:`PauseRegistry.pause`, :meth:`resume` and :meth:`list_paused` are what
the admin API calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from evaluator_service.store import PausedScorer, SpanStore

logger = logging.getLogger(__name__)


class PauseRegistry:
    """Which scorers are paused and why; load with :meth:`load` before use."""

    def __init__(self, store: SpanStore) -> None:
        self._store = store
        self._paused: dict[str, PausedScorer] = {}
        self.on_change: Callable[[], None] | None = None

    async def load(self) -> None:
        self._paused = {p.name: p for p in await self._store.paused_scorers()}
        if self._paused:
            logger.warning("scorers paused from a previous run: %s", ", ".join(sorted(self._paused)))

    def reason(self, name: str) -> str | None:
        """Why ``name`` is paused, or ``None`` when it may run."""
        paused = self._paused.get(name)
        return paused.reason if paused else None

    async def pause(self, name: str, reason: str) -> None:
        """Pause ``name`` durably; requests for it are exported marked ``paused`` until resumed."""
        await self._store.pause_scorer(name, reason)
        self._paused = {p.name: p for p in await self._store.paused_scorers()}
        logger.error("scorer %r paused: %s (resume it through the admin API)", name, reason)
        self._changed()

    async def resume(self, name: str) -> bool:
        """Let ``name`` run again; returns whether it was paused."""
        was_paused = await self._store.resume_scorer(name)
        self._paused.pop(name, None)
        if was_paused:
            logger.warning("scorer %r resumed", name)
        self._changed()
        return was_paused

    def list_paused(self) -> list[PausedScorer]:
        """Every paused scorer, by name."""
        return sorted(self._paused.values(), key=lambda p: p.name)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
