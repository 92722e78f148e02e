"""An evaluator-like process for test_sandbox_nonroot.py, run as a normal (non-root) user: it uploads hostile
scorers through the real upload path (registry) and scores them in the real bubblewrap sandbox, printing
one JSON document of what it saw. The sandbox's start-up log lines go to stderr. It first proves the
per-sandbox process limit with a harmless scorer (50 forks under a limit of 20) and runs nothing hostile
unless that limit held.

``python -m tests.hosted.nonroot_sandbox_run WORK_DIR [delegated]``: with ``delegated`` (the evaluator runs in
cgroups delegated to its user) it scores only the harmless scorer, a forking memory hog and a good one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef

from evaluator_service.registry import EnvironmentInstaller, Registry
from evaluator_service.sandbox import SandboxConfig, SandboxLimits, SandboxPool, UploadedScorerSource
from evaluator_service.scoring.contract import ScorerCrashedError

from .admin_server import SCORERS

LIMITS = SandboxLimits(wall_timeout_s=20, startup_timeout_s=30, memory_bytes=256 * 1024 * 1024,
                       max_processes=32, cpu_seconds=20)
CAP_LIMITS = SandboxLimits(wall_timeout_s=20, startup_timeout_s=30, memory_bytes=256 * 1024 * 1024,
                           max_processes=20, cpu_seconds=20)
_UPLOADED: set[str] = set()


async def _score(pool: SandboxPool, registry: Registry, class_name: str, file: str,
                 **config: object) -> dict[str, Any]:
    path = SCORERS / file
    if class_name not in _UPLOADED:
        _UPLOADED.add(class_name)
        await registry.upload(name=class_name, source=path.read_text(), source_filename=path.name,
                              requirements="", class_name=class_name)
    ref = ScorerRef(name=class_name, config=dict(config))
    scorer = UploadedScorerSource(registry, pool).resolve(ref)
    assert scorer is not None
    request = EvaluationRequest(scorer=ref, example={"request": "q", "response": "fine"})
    try:
        outcome = await scorer.score(request.example, request)
    except ScorerCrashedError as exc:
        return {"crashed": str(exc)}
    return {"value": outcome.value, "reason": outcome.reason}


async def _processes_reach(class_name: str, count: int, tries: int = 300) -> int:
    """Wait (up to ``tries`` tenths of a second) until ``count`` processes run ``class_name``; how many
    there were."""
    found = 0
    for _ in range(tries):
        found = 0
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                found += class_name in cmdline.read_text()
        if found >= count:
            break
        await asyncio.sleep(0.1)
    return found


async def _prove_the_cap(work: Path, registry: Registry, seen: dict[str, Any]) -> bool:
    """A harmless scorer forking 50 sleeping children under a limit of 20: did the limit hold?"""
    pool = SandboxPool(SandboxConfig(limits=CAP_LIMITS, workers_per_scorer=1, work_root=work / "cap"))
    try:
        seen["isolation"] = pool.prepare().description
        seen["cap"] = await _score(pool, registry, "ForkCountScorer", "breakout_scorers.py")
    finally:
        await pool.close()
    counted = json.loads(seen["cap"].get("reason", "{}"))
    return counted.get("forked", 50) < CAP_LIMITS.max_processes and counted.get("fork_failure") == "EAGAIN"


async def delegated(work: Path) -> dict[str, Any]:
    """With delegated cgroups: the cap, then a tree over the memory limit of the worker's cgroup."""
    installer = EnvironmentInstaller(work / "envs", pip_args=("--no-index",), pip_timeout_s=120)
    registry = Registry(work / "data", installer=installer)
    seen: dict[str, Any] = {"evaluator_uid": os.geteuid()}
    if not await _prove_the_cap(work, registry, seen):
        return seen
    pool = SandboxPool(SandboxConfig(limits=LIMITS, workers_per_scorer=1, work_root=work / "sandbox"))
    try:  # 8 x 120 MiB, each under the 256 MiB per-process limit, the tree far over it
        seen["memory"] = await _score(pool, registry, "ForkingMemoryScorer", "breakout_scorers.py",
                                      children=8, mb=120)
        seen["good"] = await _score(pool, registry, "GoodScorer", "hostile_scorers.py")
    finally:
        await pool.close()
    return seen


async def main(work: Path) -> dict[str, Any]:
    installer = EnvironmentInstaller(work / "envs", pip_args=("--no-index",), pip_timeout_s=120)
    registry = Registry(work / "data", installer=installer)
    seen: dict[str, Any] = {"evaluator_uid": os.geteuid()}
    if not await _prove_the_cap(work, registry, seen):
        return seen  # no process limit: run nothing hostile
    pool = SandboxPool(SandboxConfig(limits=LIMITS, workers_per_scorer=1, work_root=work / "sandbox"))
    try:
        pool.prepare()
        targets = [f"/run/lock/{work.name}", str(work / "escaped"), "/tmp/escaped-" + work.name]
        seen["escape"] = await _score(pool, registry, "EscapeScorer", "hostile_scorers.py", targets=targets)
        seen["namespaces"] = await _score(pool, registry, "NamespaceScorer", "breakout_scorers.py")
        seen["zombies"] = await _score(pool, registry, "ZombieScorer", "breakout_scorers.py")
        seen["idle_after_zombies"] = pool.idle_workers()
        seen["good"] = await _score(pool, registry, "GoodScorer", "hostile_scorers.py")
        seen["threaded"] = await _score(pool, registry, "ThreadedScorer", "breakout_scorers.py")
        bomb = asyncio.create_task(_score(pool, registry, "BoundedForkBombScorer", "breakout_scorers.py"))
        seen["bomb_processes"] = await _processes_reach("BoundedForkBombScorer", LIMITS.max_processes // 2)
        seen["good_beside_bomb"] = await _score(pool, registry, "GoodScorer", "hostile_scorers.py")
        seen["threaded_beside_bomb"] = await _score(pool, registry, "ThreadedScorer", "breakout_scorers.py")
        seen["bomb_processes_at_most"] = await _processes_reach("BoundedForkBombScorer", 10_000, tries=5)
        seen["bomb_still_running"] = not bomb.done()
        bomb.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bomb
    finally:
        await pool.close()
    return seen


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    run = delegated if sys.argv[2:] == ["delegated"] else main
    print(json.dumps(asyncio.run(run(Path(sys.argv[1])))), flush=True)
