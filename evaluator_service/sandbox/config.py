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
    output_cap_bytes: int = 64 * 1024
    max_requests_per_worker: int = 10_000
    """Requests after which a worker is replaced. Starting one costs ~0.2 s of CPU (interpreter, pydantic,
    the scorer's imports), so at 1,000 a busy scorer spent more CPU restarting workers than scoring."""
    idle_timeout_s: float = 300.0
    """Idle workers older than this are stopped (checked whenever the pool is used)."""


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How scorer workers are started.

    ``isolation``: ``auto`` uses Linux namespaces (private mount/PID view, scorer runs as ``sandbox_user``)
    when the evaluator runs as root and the kernel allows it, else runs workers as the evaluator's own user
    with resource limits and a scrubbed environment only; ``namespaces`` requires the former; ``none``
    forces the latter. ``network``: ``host`` (default; the scorer can call its LLM judge) or ``none``
    (empty network namespace; needs namespace isolation). ``hidden_paths`` are made invisible to scorers
    (the evaluator's data directory is always added by the registry-backed source).
    ``worker_concurrency``: requests one worker scores at once (each in its own task, so an async scorer
    awaits its judges concurrently); requests queued together travel in one frame."""

    limits: SandboxLimits = field(default_factory=SandboxLimits)
    env_allowlist: tuple[str, ...] = DEFAULT_SCORER_ENV
    network: Literal["host", "none"] = "host"
    isolation: Literal["auto", "namespaces", "none"] = "auto"
    sandbox_user: str = "nobody"
    workers_per_scorer: int = 2
    worker_concurrency: int = 32
    work_root: Path | None = None
    hidden_paths: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.network not in ("host", "none"):
            raise ValueError(f"scorer network must be 'host' or 'none', got {self.network!r}")
        if self.isolation not in ("auto", "namespaces", "none"):
            raise ValueError(f"scorer isolation must be auto, namespaces or none, got {self.isolation!r}")
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
    "env", "network", "isolation", "user", "workers", "worker_concurrency", "timeout_s", "startup_timeout_s",
    "memory_mb", "cpu_seconds", "file_size_mb", "max_processes", "output_cap_bytes", "max_requests",
    "idle_timeout_s",
})


def parse_sandbox(s: Section) -> SandboxConfig:
    """The YAML ``sandbox:`` section as a :class:`SandboxConfig`; raises :class:`ConfigError` naming the key
    (``sandbox.workers: must be >= 1, got 0``). Missing keys keep the defaults."""
    s.reject_unknown(_SECTION_KEYS)
    config, limits = SandboxConfig(), SandboxLimits()
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
    )
    return SandboxConfig(
        limits=new_limits,
        env_allowlist=_env_names(s, config.env_allowlist),
        network=_choice(s, "network", ("host", "none"), config.network),
        isolation=_choice(s, "isolation", ("auto", "namespaces", "none"), config.isolation),
        sandbox_user=s.opt_str("user") or config.sandbox_user,
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
