"""Evaluators on one host never remove each other's live sandbox cgroups or run directories, whatever PID
namespace each runs in, and a SIGKILLed evaluator's are still removed by the next start
(``sandbox/owner_locks.py``). Real separate evaluator processes (``sandbox_victim.py``) with real sandbox
workers, two of them as PID 1 of PID namespaces of their own (``unshare --pid``, as a container without
``--init``), on this host's cgroups (v1 here)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluator_service.sandbox import SandboxConfig, SandboxPool
from tests.hosted.sandbox_cgroups import evaluator_cgroup_parents, worker_pids
from tests.support.processes import REPO_ROOT

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="cgroups and PID namespaces need a root evaluator (CI runs "
                                                  "as root)"),
    pytest.mark.skipif(shutil.which("bwrap") is None or shutil.which("unshare") is None,
                       reason="needs bubblewrap (scripts/ensure-sandbox-tools) and util-linux unshare"),
]
AS_PID1 = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--"]


class HostEvaluator:
    """``cgroup_owner.py`` in the host's PID namespace, scoring on request."""

    def __init__(self, work_root: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.hosted.cgroup_owner", str(work_root)],
                                        cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        ready = self.ask("")  # the pool is prepared: its cgroup parent exists
        assert str(ready.get("ready")).startswith("bwrap+cgroups-v"), ready

    def ask(self, command: str) -> dict[str, object]:
        assert self.process.stdin is not None and self.process.stdout is not None
        if command:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read() if self.process.stderr else "no answer"
        return dict(json.loads(line))


class Evaluators:
    """The evaluator processes of a test; all killed at its end."""

    def __init__(self, work_root: Path) -> None:
        self.work_root = work_root
        self.running: list[subprocess.Popen[str]] = []

    def start_host(self) -> HostEvaluator:
        host = HostEvaluator(self.work_root)
        self.running.append(host.process)
        return host

    def start_namespaced(self) -> str:
        """An evaluator as PID 1 of a new PID namespace (as in a container without ``--init``), once its
        worker (a slow scorer) is up; returns the module file naming its worker."""
        module_file = f"owner_{uuid.uuid4().hex[:8]}.py"
        evaluator = subprocess.Popen(
            [*AS_PID1, sys.executable, "-m", "tests.hosted.sandbox_victim", "bwrap", str(self.work_root),
             module_file, "owner-test"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.running.append(evaluator)
        assert evaluator.stdout is not None
        line = evaluator.stdout.readline()
        assert line == "worker up\n", evaluator.stderr.read() if evaluator.stderr else line
        return module_file

    def kill_all(self) -> None:
        for evaluator in self.running:
            if evaluator.poll() is None:
                evaluator.kill()  # unshare --kill-child takes its namespace down with it
            evaluator.wait(30)


@pytest.fixture
def evaluators(tmp_path: Path) -> Iterator[Evaluators]:
    started = Evaluators(tmp_path / "root")
    try:
        yield started
    finally:
        started.kill_all()
        # the next start removes what the killed evaluators left (what this test also checks)
        SandboxPool(SandboxConfig(work_root=started.work_root)).prepare().close()


def _run_dirs(work_root: Path) -> set[Path]:
    return {path for path in work_root.glob("run-*") if path.is_dir()}


def test_namespaced_evaluators_leave_a_live_evaluators_cgroups_and_workers_alone(
    evaluators: Evaluators,
) -> None:
    host = evaluators.start_host()
    first, second = f"first_{uuid.uuid4().hex[:8]}.py", f"second_{uuid.uuid4().hex[:8]}.py"
    assert host.ask(f"score {first}") == {"score": 1.0}
    host_groups, host_workers = evaluator_cgroup_parents(first), worker_pids(first)
    host_run_dirs = _run_dirs(evaluators.work_root)
    assert host_groups and host_workers and len(host_run_dirs) == 1
    assert host.ask(f"discard {first}") == {"discarded": first}  # idle now: an empty cgroup parent

    # PID 1 of its namespace: judged by pid, every host evaluator looked dead to it
    first_ns = evaluators.start_namespaced()
    first_ns_groups = evaluator_cgroup_parents(first_ns)
    assert first_ns_groups and not host_groups & first_ns_groups
    # the host evaluator's groups and run directory are still there, and it starts workers in them
    assert all(path.is_dir() for path in host_groups)
    assert host_run_dirs <= _run_dirs(evaluators.work_root)
    assert host.ask(f"score {second}") == {"score": 1.0}
    assert evaluator_cgroup_parents(second) == host_groups

    # a second one, PID 1 too: a parent of its own (named after the pid, both were judgeval-sandbox-1),
    # and the host's busy worker is left alone too
    second_ns = evaluators.start_namespaced()
    second_ns_groups = evaluator_cgroup_parents(second_ns)
    assert second_ns_groups and not first_ns_groups & second_ns_groups and not host_groups & second_ns_groups
    assert evaluator_cgroup_parents(second) == host_groups
    assert evaluator_cgroup_parents(first_ns) == first_ns_groups

    # SIGKILLed, the host evaluator leaves its groups; the next start removes them, and only them
    host.process.kill()
    host.process.wait(30)
    assert all(path.is_dir() for path in host_groups)
    SandboxPool(SandboxConfig(work_root=evaluators.work_root)).prepare().close()
    assert [path for path in host_groups if path.exists()] == []
    assert not host_run_dirs & _run_dirs(evaluators.work_root)
    for module, groups in ((first_ns, first_ns_groups), (second_ns, second_ns_groups)):
        assert all(path.is_dir() for path in groups)
        assert worker_pids(module) and evaluator_cgroup_parents(module) == groups


def test_the_real_evaluator_behind_its_pid1_reaper_leaves_a_live_evaluators_cgroups_alone(
    evaluators: Evaluators, tmp_path: Path
) -> None:
    # the walk-through: `python -m evaluator_service` as a container's PID 1 (so itself PID 2) started
    # beside an idle host evaluator, whose next scorer then failed to start in its removed group
    host = evaluators.start_host()
    module = f"host_{uuid.uuid4().hex[:8]}.py"
    assert host.ask(f"score {module}") == {"score": 1.0}
    host_groups = evaluator_cgroup_parents(module)
    assert host.ask(f"discard {module}") == {"discarded": module}
    evaluator = subprocess.Popen(
        [*AS_PID1, sys.executable, "-m", "evaluator_service", "--data-dir", str(tmp_path / "data"),
         "--api-key", "admin-key", "--listen", "127.0.0.1:0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    evaluators.running.append(evaluator)
    assert evaluator.stdout is not None
    line = evaluator.stdout.readline()  # up: its sandbox (cgroups included) was prepared at start
    assert line.startswith("judgeval-evaluator listening on"), evaluator.stderr and evaluator.stderr.read()
    assert all(path.is_dir() for path in host_groups)
    again = f"again_{uuid.uuid4().hex[:8]}.py"
    assert host.ask(f"score {again}") == {"score": 1.0}
    assert evaluator_cgroup_parents(again) == host_groups
    # stopped as `docker stop` does, it removes its own groups and run directory (in the default work root)
    pid1 = Path(f"/proc/{evaluator.pid}/task/{evaluator.pid}/children").read_text().split()[0]
    os.kill(int(pid1), signal.SIGTERM)
    assert evaluator.wait(60) == 0
