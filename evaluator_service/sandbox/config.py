"""Sandbox settings: resource limits, the environment allow-list, network and user isolation.

They come from the evaluator YAML's ``sandbox:`` section (:func:`parse_sandbox`, every key shown in
``default_config.yaml``) and the ``--scorer-*`` flags (:mod:`evaluator_service.sandbox.options`); a flag
wins over the YAML, the YAML over the defaults here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from judgeval.environment_variables import JUDGMENT_API_KEY

from evaluator_service.config_values import ConfigError, Section

DEFAULT_SCORER_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
"""Variables of the evaluator's environment passed to scorer code (``sandbox.env`` / ``--scorer-env`` replace
the list)."""

MiB = 1024 * 1024
NETWORK_MODES = ("proxy", "none", "host")
ISOLATION_MODES = ("bwrap", "none")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NEVER_PASSED = frozenset({JUDGMENT_API_KEY})


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Per-worker limits. ``cpu_seconds`` is per process lifetime, so pooled workers are retired once they
    have used half of it; ``wall_timeout_s`` bounds one ``a_score_example`` call."""

    wall_timeout_s: float = 60.0
    startup_timeout_s: float = 60.0
    cpu_seconds: int = 120
    memory_bytes: int = 1024 * MiB
    file_size_bytes: int = 64 * MiB
    max_processes: int = 256
    """Processes and threads of one worker's whole tree (its cgroup's ``pids.max``; also ``RLIMIT_NPROC`` of
    the worker's own uid)."""
    cpus: float = 1.0
    """CPU share of one worker's tree (cgroup CPU quota; 1.0 = one core)."""
    work_dir_bytes: int = 64 * MiB
    """Size of the tmpfs holding the worker's work directory."""
    output_cap_bytes: int = 64 * 1024
    max_requests_per_worker: int = 10_000
    """Requests after which a worker is replaced. Starting one costs ~0.2 s of CPU (interpreter, pydantic,
    the scorer's imports), so at 1,000 a busy scorer spent more CPU restarting workers than scoring."""
    idle_timeout_s: float = 300.0
    """Idle workers older than this are stopped (checked whenever the pool is used)."""
    llm_calls_per_request: int = 10
    """LLM calls (through the egress proxy) one scored request may cause, pooled per worker."""
    llm_calls_per_s_per_scorer: float = 100.0
    """LLM calls per second of all workers of one scorer; calls over it wait their turn."""


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How scorer workers are started.

    ``isolation``: ``bwrap`` (default) runs each worker in a bubblewrap sandbox (new user, PID, IPC, UTS,
    network and cgroup namespaces, read-only binds of only what Python needs, seccomp filter), as a uid of
    its own from ``uid_base``/``uid_count`` when the evaluator runs as root; the evaluator refuses to start
    when ``bwrap`` is missing. ``none`` is the documented weaker mode: rlimits, a scrubbed environment and
    (as root) a uid of its own only. ``network``: ``proxy`` (default; an empty network namespace whose only
    way out is the evaluator's egress proxy, allowing ``egress_allow``), ``none`` (no way out) or ``host``
    (the host's network; weaker). ``egress_allow``: ``host:port`` entries; ``None`` = the judge endpoints
    (``OPENAI_BASE_URL``/``ANTHROPIC_BASE_URL`` when set, else the public APIs). ``hidden_paths`` is kept for
    callers: under bubblewrap nothing but the needed read-only binds is visible anyway, and the ``none``
    mode hides nothing (it runs as the evaluator's user).
    ``worker_concurrency``: requests one worker scores at once (each in its own task, so an async scorer
    awaits its judges concurrently); requests queued together travel in one frame."""

    limits: SandboxLimits = field(default_factory=SandboxLimits)
    env_allowlist: tuple[str, ...] = DEFAULT_SCORER_ENV
    network: Literal["proxy", "none", "host"] = "proxy"
    isolation: Literal["bwrap", "none"] = "bwrap"
    uid_base: int = 1_900_000_000
    uid_count: int = 65_536
    egress_allow: tuple[str, ...] | None = None
    workers_per_scorer: int = 2
    worker_concurrency: int = 32
    work_root: Path | None = None
    hidden_paths: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.network not in NETWORK_MODES:
            raise ValueError(f"scorer network must be proxy, none or host, got {self.network!r}")
        if self.isolation not in ISOLATION_MODES:
            raise ValueError(f"scorer isolation must be bwrap or none, got {self.isolation!r}")
        if self.network != "host" and self.isolation == "none":
            raise ValueError(f"scorer network {self.network!r} needs isolation 'bwrap' (use network host "
                             "with isolation none)")
        if self.uid_base < 1 or self.uid_count < 1 or self.uid_base + self.uid_count >= 2**32 - 1:
            raise ValueError("sandbox uid_base/uid_count must name a range of valid uids")
        for entry in self.egress_allow or ():
            host, sep, port = entry.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"sandbox egress_allow: {entry!r} is not host:port")
        if self.workers_per_scorer < 1:
            raise ValueError("workers_per_scorer must be at least 1")
        if self.worker_concurrency < 1:
            raise ValueError("worker_concurrency (--scorer-worker-concurrency) must be at least 1")
        if self.limits.max_requests_per_worker < 1:
            raise ValueError("max_requests_per_worker (--scorer-max-requests) must be at least 1")
        for name in self.env_allowlist:
            if not _ENV_NAME.match(name):
                raise ValueError(f"--scorer-env: {name!r} is not an environment variable name")
            if name in _NEVER_PASSED:
                raise ValueError(f"--scorer-env: {name} is the admin secret; scorers never get it")


def parse_scorer_env(value: str) -> tuple[str, ...]:
    """The ``--scorer-env NAME,NAME`` option as a tuple; an empty string passes no variables."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


_SECTION_KEYS = frozenset({
    "env", "network", "isolation", "workers", "worker_concurrency", "timeout_s", "startup_timeout_s",
    "memory_mb", "cpu_seconds", "file_size_mb", "max_processes", "output_cap_bytes", "max_requests",
    "idle_timeout_s", "cpus", "work_dir_mb", "uid_base", "uid_count", "egress_allow", "llm_calls_per_span",
    "llm_calls_per_s_per_scorer",
})


def parse_sandbox(s: Section) -> SandboxConfig:
    """The YAML ``sandbox:`` section as a :class:`SandboxConfig`; raises :class:`ConfigError` naming the key
    (``sandbox.workers: must be >= 1, got 0``). Missing keys keep the defaults."""
    s.reject_unknown(_SECTION_KEYS)
    limits = SandboxLimits()
    new_limits = SandboxLimits(
        wall_timeout_s=s.number("timeout_s", limits.wall_timeout_s, strict=True),
        startup_timeout_s=s.number("startup_timeout_s", limits.startup_timeout_s, strict=True),
        cpu_seconds=s.integer("cpu_seconds", limits.cpu_seconds, minimum=1),
        memory_bytes=s.integer("memory_mb", limits.memory_bytes // MiB, minimum=1) * MiB,
        file_size_bytes=s.integer("file_size_mb", limits.file_size_bytes // MiB, minimum=1) * MiB,
        max_processes=s.integer("max_processes", limits.max_processes, minimum=1),
        output_cap_bytes=s.integer("output_cap_bytes", limits.output_cap_bytes, minimum=1),
        max_requests_per_worker=s.integer("max_requests", limits.max_requests_per_worker, minimum=1),
        idle_timeout_s=s.number("idle_timeout_s", limits.idle_timeout_s, strict=True),
        cpus=s.number("cpus", limits.cpus, strict=True),
        work_dir_bytes=s.integer("work_dir_mb", limits.work_dir_bytes // MiB, minimum=1) * MiB,
        llm_calls_per_request=s.integer("llm_calls_per_span", limits.llm_calls_per_request, minimum=1),
        llm_calls_per_s_per_scorer=s.number("llm_calls_per_s_per_scorer", limits.llm_calls_per_s_per_scorer,
                                            strict=True),
    )
    try:
        return _sandbox_config(s, new_limits)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"{s.path or 'sandbox'}: {exc}") from None


def _sandbox_config(s: Section, new_limits: SandboxLimits) -> SandboxConfig:
    config = SandboxConfig()
    return SandboxConfig(
        limits=new_limits,
        env_allowlist=_env_names(s, config.env_allowlist),
        network=_choice(s, "network", NETWORK_MODES, config.network),
        isolation=_choice(s, "isolation", ISOLATION_MODES, config.isolation),
        uid_base=s.integer("uid_base", config.uid_base, minimum=1),
        uid_count=s.integer("uid_count", config.uid_count, minimum=1),
        egress_allow=_egress_allow(s),
        workers_per_scorer=s.integer("workers", config.workers_per_scorer, minimum=1),
        worker_concurrency=s.integer("worker_concurrency", config.worker_concurrency, minimum=1),
    )


def _env_names(s: Section, default: tuple[str, ...]) -> tuple[str, ...]:
    value = s.data.get("env")
    if value is None:
        return default
    if not isinstance(value, list):
        raise ConfigError(f"{s.where('env')}: must be a list of environment variable names")
    for index, name in enumerate(value):
        where = f"{s.where('env')}[{index}]"
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise ConfigError(f"{where}: {name!r} is not an environment variable name")
        if name in _NEVER_PASSED:
            raise ConfigError(f"{where}: {name} is the admin secret; scorers never get it")
    return tuple(value)


def _choice(s: Section, key: str, allowed: tuple[str, ...], default: Any) -> Any:
    value = s.data.get(key, default)
    if value not in allowed:
        raise ConfigError(f"{s.where(key)}: must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _egress_allow(s: Section) -> tuple[str, ...] | None:
    value = s.data.get("egress_allow")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{s.where('egress_allow')}: must be a list of host:port strings")
    return tuple(value)
