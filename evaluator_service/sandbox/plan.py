"""Compute the launch plan of one worker: the bubblewrap arguments, its cgroup, limits and identity.

The plan is computed in the evaluator (which can see everything) and handed to
:mod:`evaluator_service.sandbox.launcher` through an inherited file descriptor, never on a command line:
inside the sandbox, ``/proc/1/cmdline`` is bubblewrap's and shows only ``bwrap --args FD -- COMMAND``,
where the command names paths inside the sandbox (``/scorer``, ``/scorer-env``), not the data directory.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import judgeval

import evaluator_service
from evaluator_service.sandbox.config import SandboxConfig

PRIVATE_DIRS = ("/tmp", "/var/tmp", "/run")
"""Each worker sees an empty, size-capped tmpfs here, so files it writes vanish with it."""
WORK_DIR = "/scorer"
"""The worker's home, working directory and ``TMPDIR`` inside the sandbox: a tmpfs holding its source."""
ENV_DIR = "/scorer-env"
"""Where the scorer's venv appears inside the sandbox (read-only)."""
EGRESS_SOCKET = "/run/judgeval/egress.sock"
EGRESS_PORT = 3128
"""The in-sandbox loopback port scorer code reaches its LLM endpoints through (``HTTP(S)_PROXY``)."""
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ssl", "/etc/ca-certificates", "/etc/pki", "/etc/localtime", "/etc/nsswitch.conf")
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@dataclass(frozen=True, slots=True)
class Identity:
    """The host uid/gid a worker runs as: one of its own from the configured range."""

    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class LaunchFiles:
    """Descriptors the evaluator passes down: the scorer source and the compiled seccomp filter."""

    source_fd: int
    seccomp_fd: int


def scorer_environment(config: SandboxConfig, home: str, *, proxied: bool) -> dict[str, str]:
    """Only allow-listed variables reach scorer code, plus a minimal PATH/HOME/LANG (and the proxy)."""
    env = {name: os.environ[name] for name in config.env_allowlist if name in os.environ}
    env |= BASE_ENV | {"HOME": home, "TMPDIR": home}
    if proxied:
        env |= {name: f"http://127.0.0.1:{EGRESS_PORT}" for name in PROXY_VARIABLES}
        env |= {"NO_PROXY": "", "no_proxy": ""}
    return env


def runtime_paths(python: Path) -> list[str]:
    """Directories a worker needs to run: interpreter, our packages and the evaluator's site dirs."""
    roots: list[str | Path] = [
        sys.base_prefix, *_site_dirs(),
        Path(judgeval.__file__).parent.parent, Path(evaluator_service.__file__).parent.parent,
    ]
    if not venv_of(python):
        roots.append(python.parent.parent)
    return sorted({os.path.realpath(p) for p in roots if os.path.isdir(p)})


def sandbox_python(python: Path) -> str:
    """The interpreter's path inside the sandbox (a venv is mounted at :data:`ENV_DIR`)."""
    venv = venv_of(python)
    return f"{ENV_DIR}/bin/{python.name}" if venv else str(python)


def worker_command(python: Path, module_file: str, class_name: str, cap: int, *, proxied: bool,
                   max_processes: int) -> list[str]:
    """What runs inside bubblewrap: the egress relay and lifeline guard, which sets the sandbox's process
    limit (``RLIMIT_NPROC``, counted in the sandbox's own user namespace) and execs the worker."""
    interpreter = sandbox_python(python)
    worker = [interpreter, "-I", "-m", "evaluator_service.sandbox.worker_process", module_file, class_name,
              str(cap)]
    port = EGRESS_PORT if proxied else 0  # the relay doubles as the lifeline guard: always under bwrap
    return [interpreter, "-I", "-m", "evaluator_service.sandbox.egress_relay", str(port), EGRESS_SOCKET,
            f"--max-processes={max_processes}", "--", *worker]


def bwrap_arguments(config: SandboxConfig, *, python: Path, module_file: str, files: LaunchFiles,
                    egress_socket: Path | None) -> list[str]:
    """bubblewrap options for one worker: new namespaces of every kind, a root of read-only binds of only
    what Python needs, private tmpfs for ``/tmp``, ``/run`` and the work dir, seccomp, no capabilities."""
    args = ["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup",
            "--disable-userns", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "judgeval-sandbox"]
    if config.network != "host":
        args.append("--unshare-net")
    # The private tmpfs dirs come first: a runtime path inside one of them (a checkout or venv under /tmp)
    # is then bound on top of the tmpfs, read-only, instead of being hidden by it.
    for path in PRIVATE_DIRS:
        args += ["--size", str(64 * 1024 * 1024), "--tmpfs", path]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in SYSTEM_FILES:
        args += ["--ro-bind-try", path, path]
    for path in runtime_paths(python):
        args += ["--ro-bind", path, path]
    venv = venv_of(python)
    if venv:
        args += ["--ro-bind", venv, ENV_DIR]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(config.limits.work_dir_bytes), "--perms", "0700", "--tmpfs", WORK_DIR,
             "--file", str(files.source_fd), f"{WORK_DIR}/{module_file}"]
    if egress_socket is not None:
        args += ["--dir", os.path.dirname(EGRESS_SOCKET), "--ro-bind", str(egress_socket), EGRESS_SOCKET]
    args += ["--seccomp", str(files.seccomp_fd), "--chdir", WORK_DIR, "--clearenv"]
    for name, value in scorer_environment(config, WORK_DIR, proxied=egress_socket is not None).items():
        args += ["--setenv", name, value]
    return args


def premount_plan(needed: list[str], identity: Identity | None) -> dict[str, list[str]]:
    """Ancestors of ``needed`` the worker's uid cannot traverse (e.g. ``/root`` when the interpreter lives
    in ``/root/.pyenv``): the launcher covers them with an empty tmpfs and binds back only ``needed``, in a
    mount namespace of its own, before bubblewrap (running as that uid) looks for them."""
    if identity is None:
        return {"tmpfs": [], "binds": []}
    blocked = sorted({b for p in needed if (b := _first_blocked_ancestor(p, identity))},
                     key=lambda p: p.count("/"))
    blocked = [b for b in blocked if not _under_any(b, [o for o in blocked if o != b])]
    binds = sorted((p for p in needed if _under_any(p, blocked)), key=lambda p: p.count("/"))
    return {"tmpfs": blocked, "binds": binds}


def venv_of(python: Path) -> str | None:
    """The venv directory ``python`` belongs to, or ``None``."""
    venv = python.parent.parent
    return os.path.realpath(venv) if (venv / "pyvenv.cfg").is_file() else None


def _first_blocked_ancestor(path: str, identity: Identity) -> str | None:
    parts = Path(path).parts
    for depth in range(2, len(parts) + 1):
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


def launcher_command(plan_fd: int) -> list[str]:
    """argv running the launcher, which reads its plan (JSON) from the inherited ``plan_fd``."""
    return [sys.executable, "-I", "-m", "evaluator_service.sandbox.launcher", str(plan_fd)]


def launch_plan(*, mode: str, command: list[str], identity: Identity | None, rlimits: dict[str, int],
                cgroup_procs: list[str], bwrap: list[str], premount: dict[str, list[str]], cwd: str,
                env: dict[str, str]) -> dict[str, Any]:
    """The JSON document the launcher executes (see its module docstring)."""
    return {"mode": mode, "command": command, "uid": identity.uid if identity else None,
            "gid": identity.gid if identity else None, "rlimits": rlimits, "cgroup_procs": cgroup_procs,
            "bwrap": bwrap, "premount": premount, "cwd": cwd, "env": env}
