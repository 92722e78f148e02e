"""Two evaluators on one host never give their workers the same sandbox uid: each uid handed out is leased
host-wide (``sandbox/uid_leases.py``), by real separate evaluator processes running real sandbox pools
(``uid_lease_holder.py``) with the same uid range."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluator_service.sandbox import SandboxConfig, SandboxPool
from evaluator_service.sandbox.uid_leases import DEFAULT_LEASE_DIR
from tests.support.processes import REPO_ROOT

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="per-worker uids need a root evaluator (CI runs as root)"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: run "
                                                             "scripts/ensure-sandbox-tools"),
]


class Holders:
    """Evaluator processes holding sandbox workers; all stopped at the end of the test."""

    def __init__(self, work_root: Path, uid_base: int) -> None:
        self.work_root, self.uid_base = work_root, uid_base
        self.running: list[subprocess.Popen[str]] = []

    def start(self, uid_count: int) -> tuple[subprocess.Popen[str], dict[str, object]]:
        """Start one; its first answer (``{"uid": N}`` or ``{"failed": "..."}``) once it scored."""
        holder = subprocess.Popen(
            [sys.executable, "-m", "tests.hosted.uid_lease_holder", str(self.work_root), str(self.uid_base),
             str(uid_count)],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.running.append(holder)
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line, holder.stderr.read() if holder.stderr else "no answer"
        return holder, json.loads(line)

    def stop_all(self) -> None:
        for holder in self.running:
            if holder.poll() is None:
                holder.kill()
            holder.wait(30)


@pytest.fixture
def holders() -> Iterator[Holders]:
    work_root = Path(tempfile.mkdtemp(prefix="judgeval-uids-", dir="/tmp"))
    # a range no other test (or other evaluator on this host) uses
    started = Holders(work_root, random.randrange(2_000_000_000, 2_100_000_000, 16))
    try:
        yield started
    finally:
        started.stop_all()
        # the next start removes the cgroups the killed evaluators left
        SandboxPool(SandboxConfig(work_root=work_root)).prepare().close()
        shutil.rmtree(work_root, ignore_errors=True)
        for uid in range(started.uid_base, started.uid_base + 2):  # this test's lease files
            (DEFAULT_LEASE_DIR / f"{uid}.lock").unlink(missing_ok=True)


def test_two_evaluators_with_the_same_uid_range_never_share_a_uid(holders: Holders) -> None:
    first, first_answer = holders.start(uid_count=2)
    _, second_answer = holders.start(uid_count=2)
    assert first_answer == {"uid": holders.uid_base}
    assert second_answer == {"uid": holders.uid_base + 1}  # not the first's, though its range is the same

    # a third with a one-uid range finds it held by the first evaluator: says so instead of sharing it
    _, third_answer = holders.start(uid_count=1)
    failure = str(third_answer.get("failed"))
    assert f"all 1 sandbox uids from {holders.uid_base} are in use by this or another evaluator on this " \
           "host" in failure and "sandbox.uid_base" in failure, third_answer

    # the lease dies with its evaluator, however it dies
    first.kill()
    first.wait(30)
    _, fourth_answer = holders.start(uid_count=1)
    assert fourth_answer == {"uid": holders.uid_base}
