"""An evaluator-like process for test_sandbox_cgroup_owners.py: a real sandbox pool driven over stdin,
one command a line, one JSON answer a line on stdout.

``score MODULE_FILE``: score once with a quick scorer in a worker whose module file is MODULE_FILE (the
worker then stays, idle); answers ``{"score": ...}`` or ``{"failed": "..."}``.
``discard MODULE_FILE``: stop that worker; answers ``{"discarded": ...}``.

``python -m tests.hosted.cgroup_owner WORK_ROOT``
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from evaluator_service.sandbox import SandboxConfig, SandboxPool, ScorerProgram, WorkerFailed

from .admin_server import SCORERS


def _program(module_file: str) -> ScorerProgram:
    return ScorerProgram(key=f"UidScorer@{module_file}", python=Path(sys.executable),
                         source=(SCORERS / "breakout_scorers.py").read_text(), module_file=module_file,
                         class_name="UidScorer")


async def main(work_root: str) -> None:
    pool = SandboxPool(SandboxConfig(work_root=Path(work_root), workers_per_scorer=1))
    pool.prepare()
    print(json.dumps({"ready": pool.isolation}), flush=True)
    while line := await asyncio.to_thread(sys.stdin.readline):
        command, module_file = line.split()
        if command == "score":
            try:
                request = {"example": {}, "config": {}, "threshold": 0.5}
                answer = await pool.run(_program(module_file), request)
                print(json.dumps({"score": answer["value"]} if answer.get("ok") else {"failed": answer}),
                      flush=True)
            except WorkerFailed as exc:
                print(json.dumps({"failed": str(exc)}), flush=True)
        else:
            await pool.discard([_program(module_file).key])
            print(json.dumps({"discarded": module_file}), flush=True)
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
