"""An evaluator-like process for test_sandbox_kill.py: starts one sandbox worker running a slow scorer,
prints the worker's module name once the worker is up, and waits to be SIGKILLed.

``python -m tests.hosted.sandbox_victim ISOLATION WORK_ROOT MODULE_FILE MARKER``
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from evaluator_service.sandbox import SandboxConfig, SandboxPool, ScorerProgram

from .admin_server import SCORERS


async def main(isolation: str, work_root: str, module_file: str, marker: str) -> None:
    network = "host" if isolation == "none" else "proxy"
    pool = SandboxPool(SandboxConfig(isolation=isolation, network=network,  # type: ignore[arg-type]
                                     work_root=Path(work_root)))
    source = (SCORERS / "breakout_scorers.py").read_text() + f"\n# {marker}\n"
    program = ScorerProgram(key="SlowScorer@1#victim", python=Path(sys.executable), source=source,
                            module_file=module_file, class_name="SlowScorer")
    task = asyncio.create_task(pool.run(program, {"example": {}, "config": {}, "threshold": 0.5}))
    while not _running(module_file):
        if task.done():
            raise SystemExit(f"the worker did not start: {task.exception()}")
        await asyncio.sleep(0.05)
    print("worker up", flush=True)
    await task


def _running(module_file: str) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if "worker_process" in (text := cmdline.read_text()) and module_file in text:
                return True
        except OSError:
            continue
    return False


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
