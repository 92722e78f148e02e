"""As PID 1 (a container without ``--init``), killed sandbox workers leave no zombies: the evaluator's entry
point splits off a minimal init that reaps orphans (``evaluator_service/init_process.py``). Real PID
namespaces (``unshare --pid``), real sandbox workers, the real ``python -m evaluator_service``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.polling import eventually
from tests.support.processes import REPO_ROOT

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="PID namespaces and per-worker uids need root (CI runs "
                                                  "as root)"),
    pytest.mark.skipif(shutil.which("bwrap") is None or shutil.which("unshare") is None,
                       reason="needs bubblewrap (scripts/ensure-sandbox-tools) and util-linux unshare"),
]
AS_PID1 = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--"]


@pytest.fixture
def work_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="judgeval-pid1-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _run_as_pid1(mode: str, work_root: Path) -> dict[str, object]:
    result = subprocess.run([*AS_PID1, sys.executable, "-m", "tests.hosted.pid1_sandbox_run", mode,
                             str(work_root)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_killed_sandbox_workers_leave_no_zombies_under_a_pid1_evaluator(work_root: Path) -> None:
    # the control: a PID 1 that reaps nothing keeps the killed sandbox's processes as zombies
    plain = _run_as_pid1("plain", work_root)
    assert plain["pid"] == 1 and plain["sandbox_processes"] >= 4 and plain["lingering"], plain
    # what the evaluator's entry point does as PID 1: the evaluator runs as PID 2, PID 1 reaps
    reaped = _run_as_pid1("init", work_root)
    assert reaped["pid"] == 2 and reaped["sandbox_processes"] >= 4 and reaped["lingering"] == [], reaped


def test_the_real_evaluator_as_pid1_runs_under_its_reaper_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*AS_PID1, sys.executable, "-m", "evaluator_service", "--data-dir", str(tmp_path / "data"),
         "--api-key", "admin-key", "--listen", "127.0.0.1:0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid1 = eventually(lambda: _only_child(process.pid), "unshare forks PID 1 of the namespace")
        evaluator = eventually(lambda: _only_child(pid1), "PID 1 forks the evaluator")
        assert _namespace_pid(pid1) == 1 and _namespace_pid(evaluator) == 2
        assert "evaluator_service" in Path(f"/proc/{evaluator}/cmdline").read_text()
        assert process.stdout is not None
        line = process.stdout.readline()  # the evaluator is up
        assert line.startswith("judgeval-evaluator listening on"), line
        os.kill(pid1, signal.SIGTERM)  # what `docker stop` sends: forwarded, a graceful stop, status 0
        assert process.wait(60) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _only_child(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if len(children) == 1 else None


def _namespace_pid(pid: int) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("NSpid:"))
    return int(line.split()[-1])
