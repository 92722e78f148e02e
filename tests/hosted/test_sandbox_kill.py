"""What an evaluator SIGKILL leaves behind (no worker, no scorer source), the start-up refusal without
bubblewrap and the start-up warning without cgroups. The "evaluator" killed is a real separate process
running a real sandbox pool."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from evaluator_service.admin import HostedScorers
from evaluator_service.sandbox import SandboxConfig, SandboxPool, SandboxUnavailable, cgroups
from tests.hosted.sandbox_cgroups import evaluator_cgroup_parents
from tests.support.polling import eventually
from tests.support.processes import REPO_ROOT

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="cgroups and per-worker uids need a root evaluator "
                                                  "(CI runs as root)"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: run "
                                                             "scripts/ensure-sandbox-tools"),
]


def _workers_running(module_file: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if module_file in cmdline.read_text():
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


def _describe(pids: list[str]) -> str:
    lines = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            cmdline = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        lines.append(f"{pid} {cmdline} {[s for s in status if s.startswith(('State', 'PPid', 'Uid'))]}")
    return "; ".join(lines)


def _files_holding(root: Path, marker: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and marker.encode() in p.read_bytes()]


def _start_and_kill(isolation: str, work_root: Path, module_file: str,
                    marker: str) -> tuple[set[Path], list[Path]]:
    """Start the victim, wait for its worker, note its cgroups and the files holding the source, then
    SIGKILL it."""
    victim = subprocess.Popen(
        [sys.executable, "-m", "tests.hosted.sandbox_victim", isolation, str(work_root), module_file, marker],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert victim.stdout is not None
        line = victim.stdout.readline()
        assert line == "worker up\n", victim.stderr.read() if victim.stderr else line
        on_disk = _files_holding(work_root, marker)
        cgroups = evaluator_cgroup_parents(module_file)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    return cgroups, on_disk


@pytest.mark.parametrize("isolation", ["bwrap", "none"])
def test_an_evaluator_sigkill_leaves_no_worker_and_no_source(tmp_path: Path, isolation: str) -> None:
    module_file, marker = f"slow_{uuid.uuid4().hex[:8]}.py", f"marker-{uuid.uuid4().hex}"
    cgroups, on_disk = _start_and_kill(isolation, tmp_path / "root", module_file, marker)
    eventually(lambda: not _workers_running(module_file),
               lambda: f"sandbox workers outlived the evaluator: {_describe(_workers_running(module_file))}",
               timeout=30)
    if isolation == "bwrap":  # the source only ever lived in the sandbox's tmpfs
        assert on_disk == []
    else:  # the weaker mode writes it to a private directory, left behind by a SIGKILL...
        assert on_disk and _files_holding(tmp_path / "root", marker)
    assert cgroups and all(path.is_dir() for path in cgroups)  # the dead evaluator's (empty) cgroups...
    network = "host" if isolation == "none" else "proxy"
    pool = SandboxPool(SandboxConfig(isolation=isolation, network=network,  # type: ignore[arg-type]
                                     work_root=tmp_path / "root"))
    pool.prepare().close()  # ...and directory are removed at the next start
    assert _files_holding(tmp_path / "root", marker) == []
    assert [path for path in cgroups if path.exists()] == []


def test_the_evaluator_refuses_to_start_without_bwrap(tmp_path: Path) -> None:
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "evaluator_service", "--data-dir", str(tmp_path / "data"),
         "--api-key", "admin-key", "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": str(no_tools)},
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("judgeval-evaluator: cannot start: uploaded scorers need bubblewrap: 'bwrap' "
                           "was not found"), result.stderr
    assert "Traceback" not in result.stderr


def test_the_weaker_mode_is_an_explicit_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="bwrap"):
        HostedScorers.create(tmp_path / "a", "admin-key", SandboxConfig())
    weaker = SandboxConfig(isolation="none", network="host", work_root=tmp_path / "root")
    hosted = HostedScorers.create(tmp_path / "b", "admin-key", weaker)
    assert hosted.pool.isolation.startswith("rlimits-only")
    hosted.pool.prepare().close()


def test_without_cgroups_the_evaluator_says_so_and_falls_back_to_rlimits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", tmp_path / "no-cgroups")  # a host without hierarchies
    with caplog.at_level(logging.WARNING):
        host = SandboxPool(SandboxConfig(work_root=tmp_path / "root")).prepare()
    try:
        assert host.cgroups is None and host.description == "bwrap"
        assert "per-worker cgroups unavailable (no cgroup v2 controllers and no v1 memory, pids and cpu " \
               "hierarchies)" in caplog.text and "rlimits only" in caplog.text
    finally:
        host.close()


def test_the_evaluator_refuses_to_start_without_user_namespaces(tmp_path: Path) -> None:
    # a bwrap that answers as the real one does on a host without user namespaces, where anyone can run it
    tools = Path(tempfile.mkdtemp(prefix="judgeval-tools-", dir="/tmp"))
    tools.chmod(0o755)
    (tools / "bwrap").write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely "
                                 "because the kernel does not allow non-privileged user namespaces.' >&2\n"
                                 "exit 1\n")
    (tools / "bwrap").chmod(0o755)
    result = subprocess.run(
        [sys.executable, "-m", "evaluator_service", "--data-dir", str(tmp_path / "data"),
         "--api-key", "admin-key", "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": f"{tools}:/usr/bin:/bin"},
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("judgeval-evaluator: cannot start: uploaded scorers need unprivileged user "
                           "namespaces for bubblewrap, which this host refuses (bwrap: No permissions"), last
    assert "max_user_namespaces" in last and "Traceback" not in result.stderr
    shutil.rmtree(tools)
