"""Pools of sandbox workers, one pool per scorer program, reused across requests."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["SandboxPool", "SandboxUnavailable"]

from evaluator_service.sandbox.config import SandboxConfig
from evaluator_service.sandbox.egress_proxy import EgressLedger
from evaluator_service.sandbox.isolation import SandboxIsolation, SandboxUnavailable
from evaluator_service.sandbox.program_pool import ProgramPool
from evaluator_service.sandbox.worker_handle import SandboxWorker, ScorerProgram

_log = logging.getLogger(__name__)


class SandboxPool:
    """Runs scorer programs in sandbox workers: at most ``config.workers_per_scorer`` per program, started
    on demand and reused, each scoring up to ``config.requests_per_worker`` requests at once (see
    :mod:`~evaluator_service.sandbox.pipeline` for what happens to a request when its worker times out,
    dies or is retired). A retired worker finishes its requests while its replacement starts."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._pools: dict[str, ProgramPool] = {}
        self._retired: list[ProgramPool] = []  # still finishing requests for replaced programs
        self._host: SandboxIsolation | None = None
        self._ledger: EgressLedger | None = None  # outlives close(), for the counts
        self._egress_callback: Callable[[str, str], None] | None = None
        self._next_stale_check = 0.0

    def prepare(self) -> SandboxIsolation:
        """Check the host's sandbox facilities (once); raises :class:`SandboxUnavailable` naming what is
        missing. The evaluator calls it at startup, so it refuses to start rather than fail per span."""
        if self._host is None:
            self._host = SandboxIsolation.prepare(self.config)
            self._ledger = self._host.ledger
            self._ledger.on_count = self._egress_callback
            _log.info("scorer sandbox: %s, network %s", self._host.description, self.config.network)
        return self._host

    def report_egress_to(self, callback: Callable[[str, str], None]) -> None:
        """Call ``callback(scorer, outcome)`` for every egress call counted from now on (metrics)."""
        self._egress_callback = callback
        if self._ledger is not None:
            self._ledger.on_count = callback

    def hide(self, path: Path) -> None:
        """Kept for callers: bubblewrap binds only what a worker needs, so the data directory (never
        bound) is invisible already; in the ``none`` mode the worker's uid cannot enter it (0700)."""

    @property
    def isolation(self) -> str:
        """``bwrap+cgroups-v1``/``-v2``, ``bwrap``, ``rlimits-only``; ``unknown`` before :meth:`prepare`."""
        return "unknown" if self._host is None else self._host.description

    @property
    def egress_counts(self) -> dict[tuple[str, str], int]:
        """LLM calls through the egress proxy by (scorer, outcome) since start."""
        return dict(self._ledger.counts) if self._ledger else {}

    async def run(self, program: ScorerProgram, request: dict[str, Any]) -> dict[str, Any]:
        """Score one request with ``program``; raises :class:`WorkerFailed` when its worker failed (and
        :class:`WorkerInterrupted` when another request made the worker stop)."""
        self.prepare()
        self._stop_stale_workers()
        pool = self._pools.get(program.key)
        if pool is None:
            pool = self._pools[program.key] = ProgramPool(program, self.config, self._start)
        return await pool.submit(request)

    async def discard(self, keys: Iterable[str]) -> None:
        """Retire the workers of these programs (their scorer was overwritten or deleted): idle ones stop
        now, busy ones after their requests."""
        for key in list(keys):
            pool = self._pools.pop(key, None)
            if pool is not None:
                self._retired.append(pool)
                await pool.retire()
        self._retired = [p for p in self._retired if not p.finished]

    def program_keys(self) -> list[str]:
        """Keys of the programs that have (or had) workers here."""
        return list(self._pools)

    def idle_workers(self) -> int:
        """How many started workers are waiting for a request (for metrics and tests)."""
        return sum(pool.idle_workers() for pool in self._pools.values())

    async def close(self) -> None:
        """Stop every worker (requests still running fail with :class:`WorkerInterrupted`)."""
        pools = [*self._pools.values(), *self._retired]
        self._pools.clear()
        self._retired.clear()
        for pool in pools:
            await pool.close()
        if self._host is not None:
            self._host.close()
            self._host = None

    def _stop_stale_workers(self) -> None:
        now = time.monotonic()
        if now < self._next_stale_check:
            return
        self._next_stale_check = now + min(1.0, self.config.limits.idle_timeout_s)
        for pool in self._pools.values():
            pool.stop_idle_since(now - self.config.limits.idle_timeout_s)

    async def _start(self, program: ScorerProgram) -> SandboxWorker:
        worker = SandboxWorker(program, self.config, self.prepare())
        try:
            await worker.start()
        except BaseException:
            await worker.kill()
            raise
        return worker
