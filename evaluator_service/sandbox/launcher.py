"""Confine and exec a sandbox worker: ``python -I -m evaluator_service.sandbox.launcher PLAN_FD``.

Runs with the evaluator's interpreter as a short-lived process of its own (so no ``preexec_fn`` runs in
the multi-threaded evaluator) and reads its plan (:mod:`evaluator_service.sandbox.plan`) as JSON from the
inherited descriptor ``PLAN_FD``, never from argv. In order it:

1. moves itself into the worker's cgroup(s), so the whole process tree is accounted and limited there;
2. only when a directory the worker needs sits under one its uid cannot traverse (an interpreter in
   ``/root/.pyenv``): enters a mount namespace of its own and covers that ancestor with a tmpfs holding
   binds of just the needed directories;
3. sets the rlimits (soft = hard), drops to the worker's own uid/gid with no supplementary groups and sets
   ``no_new_privs``;
4. ``bwrap`` mode: execs bubblewrap with its arguments from another descriptor (``--args FD``), which
   builds the sandbox (namespaces, read-only binds, tmpfs, seccomp) and runs the worker command;
   ``rlimits`` mode (the documented weaker fallback): execs the worker directly in its work directory.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def join_cgroups(procs_files: list[str]) -> None:
    """Move this process (and so everything it will start) into the worker's cgroup(s)."""
    for path in procs_files:
        with open(path, "w") as handle:
            handle.write(str(os.getpid()))


def premount(plan: dict[str, list[str]]) -> None:
    """Cover untraversable ancestors with a tmpfs holding binds of only the needed directories."""
    if not plan["tmpfs"]:
        return
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in plan["binds"]}
    for path in plan["tmpfs"]:
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for path, fd in keep.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)


def become(plan: dict[str, Any]) -> None:
    """rlimits (soft = hard, so user code cannot raise them back), identity, no_new_privs."""
    for name, value in plan["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if plan.get("uid") is not None:
        os.setgroups([])
        os.setresgid(plan["gid"], plan["gid"], plan["gid"])
        os.setresuid(plan["uid"], plan["uid"], plan["uid"])
    # Cleared by the identity change above, so set here: the evaluator died, so do its workers.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def exec_bwrap(arguments: list[str], command: list[str]) -> None:
    """Hand bubblewrap its options through a descriptor: they never appear in any process's cmdline."""
    fd = os.memfd_create("bwrap-args", 0)  # not close-on-exec: bubblewrap reads it
    os.write(fd, b"".join(a.encode() + b"\0" for a in arguments))
    os.lseek(fd, 0, os.SEEK_SET)
    os.execve("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else _which("bwrap"),
              ["bwrap", "--args", str(fd), "--", *command], {"PATH": "/usr/bin:/bin"})


def _which(name: str) -> str:
    import shutil

    return shutil.which(name) or name


def main() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    plan_fd = int(sys.argv[1])
    with os.fdopen(plan_fd, "rb") as handle:
        plan = json.loads(handle.read())
    try:
        join_cgroups(plan["cgroup_procs"])
        premount(plan["premount"])
        become(plan)
        if plan["mode"] == "bwrap":
            exec_bwrap(plan["bwrap"], plan["command"])
        os.chdir(plan["cwd"])
        os.execve(plan["command"][0], plan["command"], plan["env"])
    except OSError as exc:
        print(f"sandbox launcher: {exc}", file=sys.stderr)
        sys.exit(125)


if __name__ == "__main__":
    main()
