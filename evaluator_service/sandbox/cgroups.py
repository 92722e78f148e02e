"""One cgroup per sandbox worker: memory, process count and CPU for the worker's whole process tree.

cgroup v2 is used when ``/sys/fs/cgroup`` is a unified hierarchy offering the ``memory``, ``pids`` and
``cpu`` controllers; otherwise the v1 ``memory``, ``pids`` and ``cpu`` hierarchies (a host with an empty
v2 mount beside them, as many container hosts have). The evaluator creates the group and writes the limits;
the launcher moves itself into it before it becomes the worker, so every process the scorer starts is in
it too. :meth:`WorkerCgroup.destroy` kills whatever is left and removes the group. As a normal user, only
a subtree delegated to that user is used (:meth:`CgroupManager.delegated`).

The workers' groups sit under a parent named after the evaluator instance (``judgeval-sandbox-<id>``, see
``owner_locks.py``), never after a pid: a root evaluator removes the parents of instances whose owner lock
it can take (SIGKILLed ones), and never one whose owner holds its lock, in whatever PID namespace it runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from evaluator_service.errors import EvaluatorError
from evaluator_service.sandbox.owner_locks import OwnerLock, is_instance_id

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
PARENT_PREFIX = "judgeval-sandbox-"
DEFAULT_OWNER_LOCK_DIR = Path("/run/judgeval-sandbox-cgroups")
"""Where a root evaluator holds the owner lock of its cgroup parent, next to the uid leases: shared by the
evaluators that see the same ``/run`` (a host and the PID namespaces in it)."""


class CgroupsUnavailable(EvaluatorError):
    """This host (or this user) cannot create per-worker cgroups; the message says why."""


@dataclass(frozen=True, slots=True)
class CgroupLimits:
    """What one worker's tree may use: bytes of memory (no swap), processes, and CPUs (1.0 = one core)."""

    memory_bytes: int
    max_processes: int
    cpus: float


class WorkerCgroup:
    """The cgroup directories of one worker (one under each v1 hierarchy, or one v2 directory)."""

    def __init__(self, paths: list[Path], version: int) -> None:
        self.paths = paths
        self.version = version

    @property
    def procs_files(self) -> list[str]:
        """Files the launcher writes its pid to."""
        return [str(p / "cgroup.procs") for p in self.paths]

    def memory_events(self) -> dict[str, int]:
        """Counters such as ``oom_kill`` (v2 ``memory.events``; v1 ``memory.oom_control``)."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for path in self.paths:
            with contextlib.suppress(OSError):
                lines = (path / name).read_text().split("\n")
                return {k: int(v) for k, v in (line.split() for line in lines if line.count(" ") == 1)
                        if v.isdigit()}
        return {}

    def destroy(self) -> None:
        """Kill every process left in the group and remove it (retrying while the kernel reaps them)."""
        for path in self.paths:
            _kill_all(path, self.version)
        deadline = time.monotonic() + 5
        pending = list(self.paths)
        while pending and time.monotonic() < deadline:
            pending = [p for p in pending if not _try_rmdir(p)]
            if pending:
                for path in pending:
                    _kill_all(path, self.version)
                time.sleep(0.02)


class CgroupManager:
    """Creates worker cgroups under a parent group named after this evaluator instance."""

    def __init__(self, version: int, parents: list[Path]) -> None:
        self.version = version
        self._parents = parents

    @classmethod
    def detect(cls, instance: str, owner_locks: Path = DEFAULT_OWNER_LOCK_DIR) -> CgroupManager:
        """Probe the host: v2 with the needed controllers, else v1; raises :class:`CgroupsUnavailable`.
        As root the parent is ``judgeval-sandbox-<instance>``, whose owner lock in ``owner_locks`` the
        caller holds already; stale parents are removed. Not root: only the subtree delegated to the
        evaluator's user (see :meth:`delegated`)."""
        if os.geteuid() != 0:
            return cls.delegated(instance)
        name = PARENT_PREFIX + instance
        controllers = CGROUP_ROOT / "cgroup.controllers"
        if controllers.exists():
            offered = set(controllers.read_text().split())
            missing = {"memory", "pids", "cpu"} - offered
            if missing:
                raise CgroupsUnavailable(f"cgroup v2 lacks the {', '.join(sorted(missing))} controller(s)")
            parent = CGROUP_ROOT / name
            try:
                _write(CGROUP_ROOT / "cgroup.subtree_control", "+memory +pids +cpu")
                parent.mkdir(exist_ok=True)
                _write(parent / "cgroup.subtree_control", "+memory +pids +cpu")
            except OSError as exc:
                raise CgroupsUnavailable(f"cannot create a cgroup v2 group: {exc}") from None
            manager = cls(2, [parent])
            manager.remove_stale(owner_locks)
            return manager
        parents = [CGROUP_ROOT / ctrl / name for ctrl in V1_CONTROLLERS]
        if not all((CGROUP_ROOT / ctrl / "cgroup.procs").exists() for ctrl in V1_CONTROLLERS):
            raise CgroupsUnavailable("no cgroup v2 controllers and no v1 memory, pids and cpu hierarchies")
        try:
            for parent in parents:
                parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise CgroupsUnavailable(f"cannot create a cgroup v1 group: {exc}") from None
        manager = cls(1, parents)
        manager.remove_stale(owner_locks)
        return manager

    @classmethod
    def delegated(cls, instance: str, cgroup_file: Path = Path("/proc/self/cgroup")) -> CgroupManager:
        """As a normal user: worker groups under the evaluator's own cgroup(s), when those were delegated
        to its user (the directory is writable by it: systemd ``Delegate=yes``, a container runtime's
        writable cgroup namespace, or a v1 subtree chowned to it). On v2 the evaluator first moves the
        processes of its group (itself, its PID 1 reaper) into a leaf (``<own>/evaluator``): a v2 group
        with controllers on for its children cannot hold processes itself."""
        name = PARENT_PREFIX + instance
        own = {ctrl: path.lstrip("/") for _, ctrls, path in
               (line.split(":", 2) for line in cgroup_file.read_text().splitlines() if line.count(":") >= 2)
               for ctrl in (ctrls.split(",") if ctrls else [""])}
        try:
            if (CGROUP_ROOT / "cgroup.controllers").exists():
                group = CGROUP_ROOT / own.get("", "")
                missing = {"memory", "pids", "cpu"} - set((group / "cgroup.controllers").read_text().split())
                if missing or not os.access(group / "cgroup.subtree_control", os.W_OK):
                    raise CgroupsUnavailable(f"the evaluator's cgroup {group} is not delegated to its user "
                                             f"with the memory, pids and cpu controllers")
                (group / "evaluator").mkdir(exist_ok=True)
                for pid in (group / "cgroup.procs").read_text().split():  # us, and e.g. our PID 1 reaper
                    _write(group / "evaluator" / "cgroup.procs", pid)
                _write(group / "cgroup.subtree_control", "+memory +pids +cpu")
                parent = group / name
                parent.mkdir(exist_ok=True)
                _write(parent / "cgroup.subtree_control", "+memory +pids +cpu")
                return cls(2, [parent])
            groups = [CGROUP_ROOT / ctrl / own.get(ctrl, "") for ctrl in V1_CONTROLLERS]
            refused = [str(g) for g in groups if not os.access(g, os.W_OK | os.X_OK)]
            if refused:
                raise CgroupsUnavailable(f"the evaluator's cgroup(s) {', '.join(refused)} are not delegated "
                                         "to its user")
            parents = [group / name for group in groups]
            for parent in parents:
                parent.mkdir(exist_ok=True)
            return cls(1, parents)
        except OSError as exc:
            raise CgroupsUnavailable(f"cannot use the evaluator's delegated cgroups: {exc}") from None

    def remove_stale(self, owner_locks: Path) -> None:
        """Remove the parents of evaluator instances that are gone (SIGKILLed), killing what is still in
        them: those whose owner lock in ``owner_locks`` we can take. A parent whose owner holds its lock,
        or that has no lock file there (an owner with another ``/run``, or an older evaluator's parent
        named after its pid), is left alone."""
        own = {parent.name for parent in self._parents}
        names = {stale.name for parent in self._parents for stale in parent.parent.glob(PARENT_PREFIX + "*")}
        for name in sorted(names - own):
            instance = name.removeprefix(PARENT_PREFIX)
            if not is_instance_id(instance):
                continue
            lock = OwnerLock.claim_if_gone(owner_locks, instance)
            if lock is None:
                continue
            stale = [parent.parent / name for parent in self._parents]
            CgroupManager(self.version, stale).close()
            lock.release(forget=not any(path.exists() for path in stale))

    def create(self, limits: CgroupLimits) -> WorkerCgroup:
        """A new, empty group with ``limits`` applied; raises ``OSError`` when the kernel refuses."""
        leaf = f"w-{uuid.uuid4().hex[:12]}"
        paths = [parent / leaf for parent in self._parents]
        group = WorkerCgroup(paths, self.version)
        try:
            for path in paths:
                path.mkdir()
            self._limit(group, limits)
        except OSError:
            group.destroy()
            raise
        return group

    def close(self) -> None:
        """Remove the (by now empty) parent groups."""
        for parent in self._parents:
            for child in parent.iterdir() if parent.is_dir() else ():
                if child.is_dir():
                    WorkerCgroup([child], self.version).destroy()
            _try_rmdir(parent)

    def _limit(self, group: WorkerCgroup, limits: CgroupLimits) -> None:
        quota = max(1000, int(limits.cpus * CPU_PERIOD_US))
        if self.version == 2:
            path = group.paths[0]
            _write(path / "memory.max", str(limits.memory_bytes))
            with contextlib.suppress(OSError):  # absent without swap accounting
                _write(path / "memory.swap.max", "0")
            _write(path / "pids.max", str(limits.max_processes))
            _write(path / "cpu.max", f"{quota} {CPU_PERIOD_US}")
            return
        memory, pids, cpu = group.paths
        _write(memory / "memory.limit_in_bytes", str(limits.memory_bytes))
        with contextlib.suppress(OSError):  # absent without swap accounting
            _write(memory / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        _write(pids / "pids.max", str(limits.max_processes))
        _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
        _write(cpu / "cpu.cfs_quota_us", str(quota))


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _kill_all(path: Path, version: int) -> None:
    if version == 2 and (path / "cgroup.kill").exists():
        with contextlib.suppress(OSError):
            _write(path / "cgroup.kill", "1")
            return
    with contextlib.suppress(OSError):
        for line in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(line), signal.SIGKILL)


def _try_rmdir(path: Path) -> bool:
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
