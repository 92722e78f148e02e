"""Confine and exec a sandbox worker: ``python -I -m evaluator_service.sandbox.launcher PLAN -- ARGV...``.

Runs with the evaluator's interpreter as a short-lived process of its own, so no ``preexec_fn`` runs in the
multi-threaded evaluator. With ``namespaces`` in the plan (evaluator running as root) it:

1. enters new mount and PID namespaces (and an empty network namespace for ``network=none``);
2. mounts fresh tmpfs over private directories (``/tmp``...) and over ancestors the sandbox user could not
   traverse (e.g. ``/root`` when the interpreter lives in ``/root/.pyenv``), then bind-mounts back only the
   directories the worker needs (interpreter, environments, our package, its work directory);
3. hides the evaluator's data directory behind an empty read-only tmpfs;
4. forks a small init as PID 1 of the new PID namespace (with a fresh ``/proc``, so the evaluator's
   ``/proc/<pid>/environ`` is invisible), which forks the worker, applies rlimits, drops to the sandbox
   user and execs it.

When the worker dies, init exits and the kernel kills every process it left behind, setsid or not. Without
namespaces only rlimits and the working directory are applied.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from typing import Any

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def build_view(plan: dict[str, Any]) -> None:
    """Enter namespaces and arrange the filesystem the worker will see."""
    flags = CLONE_NEWNS | CLONE_NEWPID | (CLONE_NEWNET if plan.get("network") == "none" else 0)
    _check(_libc.unshare(flags), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in plan["binds"]}
    for mount in sorted(plan["tmpfs"], key=lambda m: m["path"].count("/")):
        options = f"mode={mount['mode']},size={mount['size']}"
        _mount("tmpfs", mount["path"], "tmpfs", MS_NOSUID | MS_NODEV, options)
    for path, fd in keep.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    for path in plan["hide"]:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=000,size=4k")


def apply_limits(plan: dict[str, Any]) -> None:
    """Set the plan's rlimits (soft = hard, so user code cannot raise them back)."""
    for name, value in plan["rlimits"].items():
        limit = getattr(resource, name)
        resource.setrlimit(limit, (value, value))


def become_worker(plan: dict[str, Any], argv: list[str]) -> None:
    """Final steps in the worker process: limits, identity, exec. Never returns."""
    os.chdir(plan["cwd"])
    apply_limits(plan)
    if plan.get("uid") is not None:
        os.setgroups([])
        os.setgid(plan["gid"])
        os.setuid(plan["uid"])
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.execve(argv[0], argv, plan["env"])


def run_namespaced(plan: dict[str, Any], argv: list[str]) -> int:
    """Build the view, fork the namespace's init, wait and pass on the worker's status."""
    build_view(plan)
    pid = os.fork()
    if pid == 0:
        try:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            os._exit(_init(plan, argv))
        except BaseException as exc:
            os.write(2, f"sandbox launcher: {exc}\n".encode())
        os._exit(126)
    os.close(0)
    os.close(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _init(plan: dict[str, Any], argv: list[str]) -> int:
    """PID 1 of the namespace: start the worker as PID 2 (so signals such as SIGABRT behave normally),
    reap orphans, and exit with the worker's status; the kernel then kills whatever is left."""
    worker = os.fork()
    if worker == 0:
        try:
            become_worker(plan, argv)
        except BaseException as exc:
            os.write(2, f"sandbox launcher: {exc}\n".encode())
        os._exit(126)
    os.close(0)
    os.close(1)
    while True:
        pid, status = os.wait()
        if pid == worker:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def main() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the evaluator died: so do its workers
    separator = sys.argv.index("--")
    plan = json.loads(sys.argv[1])
    argv = sys.argv[separator + 1:]
    try:
        if plan.get("namespaces"):
            code = run_namespaced(plan, argv)
            # A signal death is reported as 128+N, the shell convention the evaluator decodes.
            sys.exit(code if code >= 0 else 128 - code)
        become_worker(plan, argv)
    except OSError as exc:
        print(f"sandbox launcher: {exc}", file=sys.stderr)
        sys.exit(125)


if __name__ == "__main__":
    main()
