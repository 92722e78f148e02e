"""Pools of sandbox workers, one pool per scorer program, reused across requests."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator_service.sandbox.config import SandboxConfig
from evaluator_service.sandbox.plan import Identity, build_plan, launcher_command, sandbox_identity
from evaluator_service.sandbox.process import SandboxWorker, ScorerProgram

_log = logging.getLogger(__name__)


class SandboxUnavailable(RuntimeError):
    """``isolation="namespaces"`` (or ``network="none"``) was asked but this host cannot provide it."""


@dataclass
class _ProgramPool:
    program: ScorerProgram
    idle: list[SandboxWorker] = field(default_factory=list)
    slots: asyncio.Semaphore | None = None


class SandboxPool:
    """Runs scorer programs in sandbox workers: at most ``config.workers_per_scorer`` per program,
    started on demand and reused. A worker that crashed, timed out, ran out of memory or used half its
    CPU budget is replaced by a fresh one on the next request."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._pools: dict[str, _ProgramPool] = {}
        self._hidden: list[str] = [str(p) for p in self.config.hidden_paths]
        self._namespaces: bool | None = None
        self._identity: Identity | None = None

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
        """Score one request with ``program``; raises :class:`WorkerFailed` when the worker failed."""
        await self._ensure_isolation()
        await self._stop_stale_workers()
        pool = self._pool_for(program)
        assert pool.slots is not None
        async with pool.slots:
            worker = pool.idle.pop() if pool.idle else await self._start(program)
            try:
                answer = await worker.score(request)
            except BaseException:
                await worker.kill()
                raise
            if self._reusable(worker) and self._pools.get(program.key) is pool:
                worker.idle_since = time.monotonic()
                pool.idle.append(worker)
            else:
                await worker.kill()
            return answer

    async def discard(self, keys: Iterable[str]) -> None:
        """Stop the idle workers of these programs (their scorer was overwritten or deleted)."""
        for key in list(keys):
            pool = self._pools.pop(key, None)
            for worker in pool.idle if pool else []:
                await worker.kill()

    def program_keys(self) -> list[str]:
        """Keys of the programs that have (or had) workers here."""
        return list(self._pools)

    def idle_workers(self) -> int:
        """How many started workers are waiting for a request (for metrics and tests)."""
        return sum(len(pool.idle) for pool in self._pools.values())

    async def close(self) -> None:
        """Stop every idle worker."""
        await self.discard(list(self._pools))

    async def _stop_stale_workers(self) -> None:
        deadline = time.monotonic() - self.config.limits.idle_timeout_s
        for pool in self._pools.values():
            stale = [w for w in pool.idle if w.idle_since < deadline]
            pool.idle = [w for w in pool.idle if w.idle_since >= deadline]
            for worker in stale:
                await worker.kill()

    def _pool_for(self, program: ScorerProgram) -> _ProgramPool:
        pool = self._pools.get(program.key)
        if pool is None:
            pool = _ProgramPool(program, slots=asyncio.Semaphore(self.config.workers_per_scorer))
            self._pools[program.key] = pool
        return pool

    async def _start(self, program: ScorerProgram) -> SandboxWorker:
        worker = SandboxWorker(program, self.config, namespaces=bool(self._namespaces),
                               identity=self._identity, hidden=self._hidden)
        try:
            await worker.start()
        except BaseException:
            await worker.kill()
            raise
        return worker

    def _reusable(self, worker: SandboxWorker) -> bool:
        limits = self.config.limits
        return (worker.healthy and worker.requests < limits.max_requests_per_worker
                and worker.cpu_seconds < limits.cpu_seconds / 2)

    async def _ensure_isolation(self) -> None:
        if self._namespaces is not None:
            return
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
