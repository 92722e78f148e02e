"""An evaluator-like process for test_sandbox_uid_leases.py: a real sandbox pool whose sandbox uids are
``[UID_BASE, UID_BASE + UID_COUNT)`` scores once with a scorer reporting its worker's uid, prints the
answer (or the failure) as one JSON line, and keeps the worker (and so its uid) until stdin closes.

``python -m tests.hosted.uid_lease_holder WORK_ROOT UID_BASE UID_COUNT``
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from evaluator_service.sandbox import SandboxConfig, SandboxPool, ScorerProgram, WorkerFailed

from .admin_server import SCORERS


async def main(work_root: str, uid_base: str, uid_count: str) -> None:
    pool = SandboxPool(SandboxConfig(work_root=Path(work_root), uid_base=int(uid_base),
                                     uid_count=int(uid_count), workers_per_scorer=1))
    program = ScorerProgram(key="UidScorer@1", python=Path(sys.executable),
                            source=(SCORERS / "breakout_scorers.py").read_text(),
                            module_file="breakout_scorers.py", class_name="UidScorer")
    try:
        answer = await pool.run(program, {"example": {}, "config": {}, "threshold": 0.5})
        print(json.dumps({"uid": json.loads(answer["reason"])["uid"]}), flush=True)
    except WorkerFailed as exc:
        print(json.dumps({"failed": str(exc)}), flush=True)
    await asyncio.to_thread(sys.stdin.read)  # hold the worker until the test closes our stdin
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
