"""The sandbox with the evaluator running as a normal user, as most container deployments run it: no
per-worker uids (that needs CAP_SETUID) and no cgroups unless they are delegated to the user, so the claims
that must still hold are held by unprivileged bubblewrap and per-sandbox rlimits (or the delegated cgroups).
A real process runs as a user created here (``nonroot_sandbox_run.py``) and sends hostile uploaded scorers
through the real upload path (the registry).

Safety (a fork bomb here once took a shared machine down): the run proves the per-sandbox process limit with
a harmless scorer (50 forks under a limit of 20) before anything hostile, and runs nothing hostile unless it
held; the whole run is under an outer ``prlimit --nproc`` cap for the user; every process of the user is
killed, by pid, after each test, even on failure; the fork bomb is bounded (500 forks).

The test machine runs as root: it creates the user, and when the interpreter sits under a directory that
user cannot enter (``/root/.pyenv``) it runs the process in a mount namespace of its own where that
directory is covered by a tmpfs holding only the interpreter's tree, as a container image would have it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT

USER = "judgeval-sandbox-test"
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creating the test user needs root (CI runs as root)"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: run "
                                                             "scripts/ensure-sandbox-tools"),
    pytest.mark.skipif(not (shutil.which("setpriv") and shutil.which("unshare") and shutil.which("useradd")
                            and shutil.which("prlimit")),
                       reason="needs util-linux setpriv/unshare/prlimit and useradd"),
]


@pytest.fixture(scope="module")
def user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(USER)


@pytest.fixture
def work(user: pwd.struct_passwd) -> Iterator[Path]:
    """A directory for the user; afterwards, even on failure, every process of the user is killed."""
    path = Path(tempfile.mkdtemp(prefix="judgeval-nonroot-", dir="/tmp"))  # pytest's tmp is root-only
    os.chown(path, user.pw_uid, user.pw_gid)
    try:
        yield path
    finally:
        assert kill_processes_of(user.pw_uid) == 0, "processes of the test user survived SIGKILL"
        shutil.rmtree(path, ignore_errors=True)


def processes_of(uid: int) -> list[int]:
    """The pids of every process whose real uid is ``uid``."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            real_uid = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(real_uid.split()[1]) == uid:
            pids.append(int(status.parent.name))
    return pids


def kill_processes_of(uid: int) -> int:
    """SIGKILL each process of ``uid`` (the test's own user: only this test starts its processes) by pid,
    until none is left or 50 rounds passed; how many were left."""
    for _ in range(50):
        pids = processes_of(uid)
        if not pids:
            return 0
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    return len(processes_of(uid))


def _blocked_ancestor(path: str) -> str | None:
    """The first directory above ``path`` that others cannot traverse (``/root``), if any."""
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        ancestor = str(Path(*parts[:depth]))
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


OUTER_PROCESS_CAP = 200
"""A second guard around the whole run, whatever the product does: ``RLIMIT_NPROC`` of the user's processes
(sandboxed ones included: the kernel charges a user namespace's tasks to its creator's uid too)."""


def run_as_user(user: pwd.struct_passwd, work: Path, module: str, *arguments: str,
                cgroups: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m module WORK ARGUMENTS`` as ``user``: see :func:`user_command`."""
    return subprocess.run(user_command(user, work, [module, str(work), *arguments], cgroups), cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def user_command(user: pwd.struct_passwd, work: Path, python_arguments: list[str],
                 cgroups: list[Path] | None = None) -> list[str]:
    """``python -m PYTHON_ARGUMENTS`` as ``user`` with no capabilities, the interpreter made reachable,
    under an outer cap of :data:`OUTER_PROCESS_CAP` processes for the user, in ``cgroups`` if given."""
    cap = ["prlimit", f"--nproc={OUTER_PROCESS_CAP}:{OUTER_PROCESS_CAP}", "--"]
    drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
            "--inh-caps=-all", "env", f"HOME={work}", "PATH=/usr/bin:/bin", sys.executable, "-m",
            *python_arguments]
    prefix = os.path.realpath(sys.base_prefix)
    blocked = _blocked_ancestor(prefix)
    if blocked is None:
        command = [*cap, *drop]
    else:  # cover e.g. /root with a tmpfs holding just /root/.pyenv (moved back from a staging bind)
        keep = str(Path(blocked, Path(prefix).relative_to(blocked).parts[0]))
        stage = work / ".stage"
        script = (f"mkdir -p {stage} && mount --bind {shlex.quote(keep)} {stage} && "
                  f"mount -t tmpfs -o mode=0755,size=1m tmpfs {shlex.quote(blocked)} && "
                  f"mkdir -p {shlex.quote(keep)} && mount --move {stage} {shlex.quote(keep)} && "
                  f"exec {shlex.join(drop)}")
        command = [*cap, "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script]
    if cgroups:  # join them first, as root, then run the rest
        join = "; ".join(f"echo $$ > {shlex.quote(str(group / 'cgroup.procs'))}" for group in cgroups)
        command = ["sh", "-c", f'{join}; exec "$@"', "sh", *command]
    return command


def test_a_non_root_evaluator_still_contains_hostile_scorers(user: pwd.struct_passwd, work: Path) -> None:
    result = run_as_user(user, work, "tests.hosted.nonroot_sandbox_run")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["evaluator_uid"] == user.pw_uid and seen["isolation"] == "bwrap"
    # said once per pool, at start-up, which protections are weaker: no silent downgrade
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings and all(f"runs as uid {user.pw_uid}, not root" in w and "RLIMIT_AS" in w
                            for w in warnings), warnings
    # first, harmlessly: 50 forks under a limit of 20 stop short of 20 (the runner ran nothing hostile else)
    cap = json.loads(seen["cap"]["reason"])
    assert cap["fork_failure"] == "EAGAIN" and 10 <= cap["forked"] < 20, cap

    escape = json.loads(seen["escape"]["reason"])
    assert escape[f"/run/lock/{work.name}"].startswith("denied")
    assert escape[str(work / "escaped")].startswith("denied")
    assert not Path(f"/tmp/escaped-{work.name}").exists() and not (work / "escaped").exists()

    namespaces = json.loads(seen["namespaces"]["reason"])
    assert namespaces["unshare_user"] in ("EPERM", "ENOSPC"), namespaces
    for attempt in ("unshare_mount", "unshare_net", "mount_tmpfs", "ptrace_traceme"):
        assert namespaces[attempt] == "EPERM", (attempt, namespaces)
    assert namespaces["capabilities"] == "0000000000000000"

    # every sandbox's processes are bounded by RLIMIT_NPROC counted in its own user namespace, so a scorer
    # holding zombies up to its limit (or a fork bomb still running) does not stop another from starting
    zombies = json.loads(seen["zombies"]["reason"])
    assert zombies["fork_failure"] == "EAGAIN" and zombies["zombies"] < 32, zombies
    assert seen["idle_after_zombies"] >= 1  # the zombie holder still lives
    for key in ("good", "good_beside_bomb"):
        assert seen[key] == {"value": 0.75, "reason": "saw 'fine'"}, seen[key]
    for key in ("threaded", "threaded_beside_bomb"):
        assert seen[key]["reason"] == "16 threads ran", seen[key]
    # at most the limit inside the sandbox, plus bubblewrap's own process outside it
    assert seen["bomb_processes"] >= 16 and seen["bomb_processes_at_most"] <= 33, seen
    assert seen["bomb_still_running"]


def test_the_real_evaluator_starts_as_a_normal_user_and_says_once_what_is_weaker(
    user: pwd.struct_passwd, work: Path
) -> None:
    # a root evaluator on the same host has its sandbox work root in the same $TMPDIR
    Path(tempfile.gettempdir(), "judgeval-sandbox").mkdir(mode=0o711, exist_ok=True)
    command = user_command(user, work, ["evaluator_service", "--data-dir", str(work / "data"), "--api-key",
                                        "admin-key", "--listen", "127.0.0.1:0"])
    evaluator = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
    try:
        assert evaluator.stdout is not None
        line = evaluator.stdout.readline()
        assert line.startswith("judgeval-evaluator listening on"), line
        evaluator.send_signal(signal.SIGTERM)
        _, stderr = evaluator.communicate(timeout=60)
    finally:
        if evaluator.poll() is None:
            evaluator.kill()
            evaluator.wait(30)
    assert evaluator.returncode == 0, stderr
    said = [line for line in stderr.splitlines() if f"runs as uid {user.pw_uid}, not root" in line]
    assert len(said) == 1 and "RLIMIT_AS" in said[0], stderr


@pytest.fixture
def delegated_cgroups(user: pwd.struct_passwd) -> Iterator[list[Path]]:
    """v1 memory, pids and cpu groups (under this test's own) delegated to the user, as an administrator
    does with chown: the directory and its ``cgroup.procs``/``tasks``."""
    own = {ctrl: path for _, ctrls, path in (line.split(":", 2) for line in
                                             Path("/proc/self/cgroup").read_text().splitlines())
           for ctrl in ctrls.split(",")}
    name = f"judgeval-delegated-{os.getpid()}"
    groups = [Path("/sys/fs/cgroup", ctrl, own.get(ctrl, "/").lstrip("/"), name)
              for ctrl in ("memory", "pids", "cpu")]
    if not all(group.parent.joinpath("cgroup.procs").exists() for group in groups):
        pytest.skip("needs the cgroup v1 memory, pids and cpu hierarchies (this host's layout)")
    for group in groups:
        group.mkdir()
        for path in (group, group / "cgroup.procs", group / "tasks"):
            os.chown(path, user.pw_uid, user.pw_gid)
    try:
        yield groups
    finally:
        kill_processes_of(user.pw_uid)
        for group in groups:
            for child in sorted(group.rglob("*"), key=lambda p: -len(p.parts)):
                if child.is_dir():
                    with contextlib.suppress(OSError):
                        child.rmdir()
            with contextlib.suppress(OSError):
                group.rmdir()


def test_a_non_root_evaluator_uses_cgroups_delegated_to_it(user: pwd.struct_passwd, work: Path,
                                                           delegated_cgroups: list[Path]) -> None:
    result = run_as_user(user, work, "tests.hosted.nonroot_sandbox_run", "delegated",
                         cgroups=delegated_cgroups)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["isolation"] == "bwrap+cgroups-v1", seen
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings and all("delegated cgroups (v1)" in w for w in warnings), warnings
    cap = json.loads(seen["cap"]["reason"])
    assert cap["fork_failure"] == "EAGAIN" and cap["forked"] < 20, cap
    # the tree is held to the worker's cgroup memory limit, which RLIMIT_AS per process could not do
    memory = seen["memory"]
    assert "SIGKILL" in memory.get("crashed", "") or -9 in json.loads(memory["reason"])["statuses"], memory
    assert seen["good"] == {"value": 0.75, "reason": "saw 'fine'"}, seen["good"]
