"""Compute the launcher plan for one worker: mounts, binds, limits, identity and environment.

The plan is computed in the evaluator (which can see everything) and handed to
:mod:`evaluator_service.sandbox.launcher` as JSON.
"""

from __future__ import annotations

import json
import os
import pwd
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import judgeval

import evaluator_service
from evaluator_service.sandbox.config import SandboxConfig

PRIVATE_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
"""Each worker sees an empty, size-capped tmpfs here, so files it writes vanish with it."""
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass(frozen=True, slots=True)
class Identity:
    """The user scorer code runs as."""

    uid: int
    gid: int


def sandbox_identity(user: str) -> Identity | None:
    """The sandbox user's ids, or ``None`` when the evaluator is not root (it cannot switch users)."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(user)
    return Identity(entry.pw_uid, entry.pw_gid)


def scorer_environment(config: SandboxConfig, work_dir: Path) -> dict[str, str]:
    """Only allow-listed variables reach scorer code, plus a minimal PATH/HOME/LANG."""
    env = {name: os.environ[name] for name in config.env_allowlist if name in os.environ}
    return env | BASE_ENV | {"HOME": str(work_dir), "TMPDIR": str(work_dir)}


def runtime_paths(python: Path) -> list[str]:
    """Directories a worker needs to run: interpreter, its environment, our packages."""
    roots: list[str | Path] = [
        sys.base_prefix, python.parent.parent, *_site_dirs(),
        Path(judgeval.__file__).parent.parent, Path(evaluator_service.__file__).parent.parent,
    ]
    return sorted({os.path.realpath(p) for p in roots if os.path.isdir(p)})


def build_plan(config: SandboxConfig, *, python: Path, work_dir: Path, namespaces: bool,
               identity: Identity | None, hidden: list[str]) -> dict[str, Any]:
    """The JSON plan the launcher executes."""
    limits = config.limits
    rlimits = {"RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_AS": limits.memory_bytes,
               "RLIMIT_FSIZE": limits.file_size_bytes, "RLIMIT_CORE": 0}
    if identity is not None:
        rlimits["RLIMIT_NPROC"] = limits.max_processes  # only enforced for a non-root user
    plan: dict[str, Any] = {
        "namespaces": namespaces, "network": config.network, "cwd": str(work_dir), "rlimits": rlimits,
        "env": scorer_environment(config, work_dir), "tmpfs": [], "binds": [], "hide": [],
        "uid": identity.uid if identity else None, "gid": identity.gid if identity else None,
    }
    if not namespaces:
        return plan
    needed = [*runtime_paths(python), os.path.realpath(work_dir)]
    tmpfs = _tmpfs_mounts(needed, identity)
    covered = [m["path"] for m in tmpfs]
    plan.update(
        tmpfs=tmpfs,
        binds=sorted((p for p in needed if _under_any(p, covered)), key=lambda p: p.count("/")),
        hide=[os.path.realpath(h) for h in hidden if not _under_any(os.path.realpath(h), covered)],
    )
    return plan


def _tmpfs_mounts(needed: list[str], identity: Identity | None) -> list[dict[str, Any]]:
    mounts = [{"path": d, "mode": "1777", "size": "64m"} for d in PRIVATE_DIRS if os.path.isdir(d)]
    if identity is not None:
        for path in needed:
            blocked = _first_blocked_ancestor(path, identity)
            if blocked and not _under_any(blocked, [m["path"] for m in mounts]):
                mounts.append({"path": blocked, "mode": "0755", "size": "1m"})
    return mounts


def _first_blocked_ancestor(path: str, identity: Identity) -> str | None:
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        ancestor = str(Path(*parts[:depth]))
        if not _traversable(ancestor, identity):
            return ancestor
    return None


def _traversable(path: str, identity: Identity) -> bool:
    st = os.stat(path)
    if st.st_uid == identity.uid:
        return bool(st.st_mode & 0o100)
    if st.st_gid == identity.gid:
        return bool(st.st_mode & 0o010)
    return bool(st.st_mode & 0o001)


def _under_any(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _site_dirs() -> list[str]:
    import site

    return [*site.getsitepackages(), *[p for p in sys.path if p.endswith("site-packages")]]


def launcher_command(plan: dict[str, Any]) -> list[str]:
    """argv prefix running the launcher module with ``plan``; the worker's argv follows."""
    return [sys.executable, "-I", "-m", "evaluator_service.sandbox.launcher", json.dumps(plan), "--"]
