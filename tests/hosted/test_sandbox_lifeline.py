"""The lifeline guard alone: when the evaluator's end of the worker's stdin closes, the whole sandbox goes,
the guard included, even without bubblewrap's ``--die-with-parent`` (which an evaluator killed during a
worker's start-up can beat)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.support.polling import eventually
from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap missing: run scripts/ensure-sandbox-tools")


def test_closing_the_lifeline_ends_every_process_of_the_sandbox_guard_included() -> None:
    read_end, write_end = os.pipe()
    sandbox = subprocess.Popen(
        ["bwrap", "--dev-bind", "/", "/", "--unshare-pid", "--unshare-user", "--",
         sys.executable, "-I", "-m", "evaluator_service.sandbox.egress_relay", "0", "/nonexistent", "--",
         "/bin/sleep", "600"],
        stdin=read_end, stderr=subprocess.PIPE, cwd=REPO_ROOT)
    os.close(read_end)
    try:
        eventually(lambda: len(_descendants(sandbox.pid)) >= 3, "the guard and worker started", timeout=30)
        inside = _descendants(sandbox.pid)
        os.close(write_end)  # the evaluator died
        everyone = [sandbox.pid, *inside]
        eventually(lambda: not _alive(everyone),
                   lambda: f"processes outlived the lifeline: {_command_lines(_alive(everyone))}", timeout=30)
    finally:
        for pid in _alive([sandbox.pid, *_descendants(sandbox.pid)]):
            os.kill(pid, signal.SIGKILL)
        sandbox.wait(10)


def _alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    running = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] != "Z":
                    running.append(pid)
        except OSError:
            continue
    return running


def _command_lines(pids: list[int]) -> list[str]:
    lines = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline") as handle:
                lines.append(f"{pid}: {handle.read().replace(chr(0), ' ')}")
        except OSError:
            continue
    return lines


def _descendants(root: int) -> list[int]:
    """pids of processes descended from ``root`` (the bwrap process)."""
    children: dict[int, list[int]] = {}
    for status in os.listdir("/proc"):
        if not status.isdigit():
            continue
        try:
            with open(f"/proc/{status}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(status))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
