"""Pools of sandbox workers, one pool per scorer program, reused across requests."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evaluator_service.errors import EvaluatorError
from evaluator_service.sandbox.config import SandboxConfig
from evaluator_service.sandbox.plan import Identity, build_plan, launcher_command, sandbox_identity
from evaluator_service.sandbox.program_pool import ProgramPool
from evaluator_service.sandbox.worker_handle import SandboxWorker, ScorerProgram

_log = logging.getLogger(__name__)


class SandboxUnavailable(EvaluatorError, RuntimeError):
    """``isolation="namespaces"`` (or ``network="none"``) was asked but this host cannot provide it."""


class SandboxPool:
    """Runs scorer programs in sandbox workers: at most ``config.workers_per_scorer`` per program, started
    on demand and reused, each scoring up to ``config.requests_per_worker`` requests at once (see
    :mod:`~evaluator_service.sandbox.pipeline` for what happens to a request when its worker times out,
    dies or is retired). A retired worker finishes its requests while its replacement starts."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._pools: dict[str, ProgramPool] = {}
        self._retired: list[ProgramPool] = []  # still finishing requests for replaced programs
        self._hidden: list[str] = [str(p) for p in self.config.hidden_paths]
        self._namespaces: bool | None = None
        self._identity: Identity | None = None
        self._next_stale_check = 0.0
        self._isolation_checked = asyncio.Lock()  # the first burst of requests probes only once

    def hide(self, path: Path) -> None:
        """Make ``path`` invisible to scorer code started from now on (e.g. the evaluator's data dir)."""
        self._hidden.append(str(path))

    @property
    def isolation(self) -> str:
        """``namespaces``, ``user`` (sandbox user, no namespaces) or ``rlimits-only`` once the first worker
        started; ``unknown`` before."""
        if self._namespaces is None:
            return "unknown"
        if self._namespaces:
            return "namespaces"
        return "user" if self._identity is not None else "rlimits-only"

    async def run(self, program: ScorerProgram, request: dict[str, Any]) -> dict[str, Any]:
        """Score one request with ``program``; raises :class:`WorkerFailed` when its worker failed (and
        :class:`WorkerInterrupted` when another request made the worker stop)."""
        if self._namespaces is None:
            await self._ensure_isolation()
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

    def _stop_stale_workers(self) -> None:
        now = time.monotonic()
        if now < self._next_stale_check:
            return
        self._next_stale_check = now + min(1.0, self.config.limits.idle_timeout_s)
        for pool in self._pools.values():
            pool.stop_idle_since(now - self.config.limits.idle_timeout_s)

    async def _start(self, program: ScorerProgram) -> SandboxWorker:
        worker = SandboxWorker(program, self.config, namespaces=bool(self._namespaces),
                               identity=self._identity, hidden=self._hidden)
        try:
            await worker.start()
        except BaseException:
            await worker.kill()
            raise
        return worker

    async def _ensure_isolation(self) -> None:
        async with self._isolation_checked:
            if self._namespaces is None:
                await self._decide_isolation()

    async def _decide_isolation(self) -> None:
        wanted = self.config.isolation
        identity = sandbox_identity(self.config.sandbox_user) if wanted != "none" else None
        usable = wanted != "none" and os.geteuid() == 0 and await _probe_namespaces(self.config, identity)
        if not usable and (wanted == "namespaces" or self.config.network == "none"):
            raise SandboxUnavailable(
                "scorer isolation with Linux namespaces is not available here (the evaluator must run as "
                "root on a kernel allowing unshare); use isolation=auto and network=host")
        if not usable:
            who = f"user {self.config.sandbox_user!r}" if identity else "the evaluator's own user"
            _log.warning("scorer sandbox: namespaces unavailable; scorers run as %s with resource limits "
                         "and a scrubbed environment only", who)
        # As root without namespaces, still never run scorer code as root: drop to the sandbox user.
        self._namespaces, self._identity = usable, identity


async def _probe_namespaces(config: SandboxConfig, identity: Identity | None) -> bool:
    """Start a throwaway confined interpreter once to learn whether this host supports the sandbox."""
    with tempfile.TemporaryDirectory() as work:
        if identity is not None:
            os.chown(work, identity.uid, identity.gid)
        plan = build_plan(config, python=Path(sys.executable), work_dir=Path(work), namespaces=True,
                          identity=identity, hidden=[])
        process = await asyncio.create_subprocess_exec(
            *launcher_command(plan), sys.executable, "-I", "-c", "import judgeval, evaluator_service",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        _, err = await process.communicate()
    if process.returncode != 0:
        _log.warning("scorer sandbox probe failed: %s", err.decode(errors="replace").strip()[-500:])
    return process.returncode == 0
