"""Paused scorers: a scorer whose judge rejects our credentials stops running until an operator resumes it.

The registry lives in the shared state database (so a pause survives restarts and reaches every replica
using the same ``state_db``) and is mirrored in memory (so the hot path is a dict lookup). Other replicas'
pauses and resumes arrive through a :class:`~evaluator_service.state.ChangeWatcher` within about a second.
:meth:`PauseRegistry.pause`, :meth:`resume` and :meth:`list_paused` are what the admin API calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from evaluator_service.state import ChangeWatcher, PausedScorer, SharedState, StateUnavailable

logger = logging.getLogger(__name__)


class PauseRegistry:
    """Which scorers are paused and why; :meth:`load` before use, :meth:`close` to stop watching."""

    def __init__(self, state: SharedState, *, refresh_interval_s: float = 1.0) -> None:
        self._state = state
        self._paused: dict[str, PausedScorer] = {}
        # Pauses this replica could not write (database down): still honoured here, retried on refresh.
        self._unsaved: dict[str, PausedScorer] = {}
        self._watcher = ChangeWatcher(state, self._reload, refresh_interval_s)
        self.on_change: Callable[[], None] | None = None

    async def load(self) -> None:
        """Read the shared pauses and start following other replicas' changes."""
        await self._watcher.check()
        if self._paused:
            logger.warning("scorers paused (shared state): %s", ", ".join(sorted(self._paused)))
        self._watcher.start()

    async def close(self) -> None:
        await self._watcher.stop()

    async def refresh(self) -> None:
        """Pick up other replicas' pauses and resumes now (the background poll does this every second)."""
        await self._watcher.check()

    def reason(self, name: str) -> str | None:
        """Why ``name`` is paused, or ``None`` when it may run."""
        paused = self._paused.get(name) or self._unsaved.get(name)
        return paused.reason if paused else None

    async def pause(self, name: str, reason: str) -> None:
        """Pause ``name`` on every replica; requests for it are exported marked ``paused`` until resumed.

        Never raises: if the database is down the pause holds on this replica and is written later."""
        logger.error("scorer %r paused: %s (resume it through the admin API)", name, reason)
        try:
            await self._state.pause(name, reason)
            await self._reload()
        except StateUnavailable as exc:
            logger.error("pause of %r kept on this replica only for now: %s", name, exc)
            self._unsaved[name] = PausedScorer(name, reason, 0.0)
            self._watcher.invalidate()  # the next poll writes it, whether or not others changed anything
        self._changed()

    async def resume(self, name: str) -> bool:
        """Let ``name`` run again on every replica; returns whether it was paused."""
        local = self._unsaved.pop(name, None) is not None
        was_paused = await self._state.resume(name) or local
        self._paused.pop(name, None)
        if was_paused:
            logger.warning("scorer %r resumed", name)
        self._changed()
        return was_paused

    def list_paused(self) -> list[PausedScorer]:
        """Every paused scorer, by name."""
        return sorted({**self._unsaved, **self._paused}.values(), key=lambda p: p.name)

    async def _reload(self) -> None:
        for name, unsaved in list(self._unsaved.items()):
            await self._state.pause(name, unsaved.reason)
            del self._unsaved[name]
        before = set(self._paused)
        self._paused = {p.name: p for p in await self._state.paused_scorers()}
        if set(self._paused) != before:
            self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
