"""An evaluator-like process for test_pid1_reaping.py, run as PID 1 of a PID namespace of its own (as in a
container without ``--init``): with ``init`` it first calls what the evaluator's entry point calls
(``reap_orphans_when_pid1``); with ``plain`` it does not (the old behavior, the test's control). It starts
a real sandbox worker running a slow scorer, notes the sandbox's processes, kills the worker (as a timeout
would), and prints one JSON line: how many processes the sandbox had and which of them still linger as
zombies 10 s later.

``python -m tests.hosted.pid1_sandbox_run init|plain WORK_ROOT``
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path

from evaluator_service.init_process import reap_orphans_when_pid1
from evaluator_service.sandbox import SandboxConfig, SandboxPool, ScorerProgram

from .admin_server import SCORERS

MODULE_FILE = "pid1_slow_scorer.py"


def _sandbox_processes() -> list[int]:
    """The pids of the processes whose command line names the scorer's module (a zombie's is empty)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if MODULE_FILE in cmdline.read_text():
                found.append(int(cmdline.parent.name))
    return found


def _states(pids: list[int]) -> dict[int, str]:
    """pid -> state letter (``Z``: zombie) of those of ``pids`` that still exist."""
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            found[pid] = next(line for line in status if line.startswith("State:")).split()[1]
    return found


async def main(work_root: str) -> None:
    pool = SandboxPool(SandboxConfig(work_root=Path(work_root), workers_per_scorer=1))
    program = ScorerProgram(key="SlowScorer@1", python=Path(sys.executable),
                            source=(SCORERS / "breakout_scorers.py").read_text(), module_file=MODULE_FILE,
                            class_name="SlowScorer")
    task = asyncio.create_task(pool.run(program, {"example": {}, "config": {}, "threshold": 0.5}))
    for _ in range(300):  # the worker is up: bubblewrap, the sandbox's init, the relay, the worker
        if len(sandbox := _sandbox_processes()) >= 4:
            break
        await asyncio.sleep(0.1)
    await pool.close()  # kills the worker's process group, as a timeout does
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    for _ in range(100):  # up to 10 s for every process of the sandbox to be gone
        if not (left := _states(sandbox)):
            break
        await asyncio.sleep(0.1)
    lingering = sorted(pid for pid, state in left.items() if state == "Z")
    print(json.dumps({"pid": os.getpid(), "sandbox_processes": len(sandbox), "lingering": lingering}),
          flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "init":
        reap_orphans_when_pid1()  # as the entry point does: before any event loop
    asyncio.run(main(sys.argv[2]))
