"""Evaluator command-line flags for the scorer sandbox, for the entry point to add and read back.

A flag given on the command line wins over the YAML ``sandbox:`` section, which wins over the defaults:
flags default to ``None`` so :func:`sandbox_config_from_args` can tell "not given" from "given".
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from evaluator_service.config_values import ConfigError
from evaluator_service.sandbox.config import (
    ISOLATION_MODES,
    NETWORK_MODES,
    MiB,
    SandboxConfig,
    SandboxLimits,
    parse_scorer_env,
)


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--scorer-env``, ``--scorer-network``, ``--scorer-isolation``, ``--scorer-timeout``,
    ``--scorer-memory-mb``, ``--scorer-workers``, ``--scorer-max-requests`` and
    ``--scorer-worker-concurrency`` to ``parser``."""
    config, limits = SandboxConfig(), SandboxLimits()
    group = parser.add_argument_group("uploaded scorer sandbox (flags override the YAML sandbox: section)")
    group.add_argument("--scorer-env", metavar="NAME,...",
                       help="environment variables passed to uploaded scorers "
                            f"(YAML sandbox.env; default {','.join(config.env_allowlist)})")
    group.add_argument("--scorer-network", choices=NETWORK_MODES,
                       help="proxy (default): an empty network namespace whose only way out is the "
                            "evaluator's allow-listed egress proxy; none: no network; host: the host's "
                            "network (weaker) (YAML sandbox.network)")
    group.add_argument("--scorer-isolation", choices=ISOLATION_MODES,
                       help="bwrap (default): bubblewrap + seccomp + cgroups, refused when bwrap is missing; "
                            "none: rlimits only, weaker (YAML sandbox.isolation)")
    group.add_argument("--scorer-timeout", type=float, metavar="SECONDS",
                       help="wall-clock limit of one scorer call "
                            f"(YAML sandbox.timeout_s; default {limits.wall_timeout_s:g})")
    group.add_argument("--scorer-memory-mb", type=int,
                       help="address-space limit of a scorer worker "
                            f"(YAML sandbox.memory_mb; default {limits.memory_bytes // MiB})")
    group.add_argument("--scorer-workers", type=int,
                       help="worker processes per scorer version "
                            f"(YAML sandbox.workers; default {config.workers_per_scorer})")
    group.add_argument("--scorer-max-requests", type=int, metavar="N",
                       help="requests after which a scorer worker is replaced "
                            f"(YAML sandbox.max_requests; default {limits.max_requests_per_worker})")
    group.add_argument("--scorer-worker-concurrency", type=int, metavar="N",
                       help="requests one scorer worker scores at once "
                            f"(YAML sandbox.worker_concurrency; default {config.worker_concurrency})")


def sandbox_config_from_args(args: argparse.Namespace, base: SandboxConfig | None = None) -> SandboxConfig:
    """``base`` (the YAML ``sandbox:`` section; default: the defaults) with every flag that was given
    applied on top; raises :class:`ConfigError` naming the flag."""
    base = base or SandboxConfig()
    limits: dict[str, Any] = {}
    if args.scorer_timeout is not None:
        limits["wall_timeout_s"] = args.scorer_timeout
    if args.scorer_memory_mb is not None:
        limits["memory_bytes"] = args.scorer_memory_mb * MiB
    if args.scorer_max_requests is not None:
        limits["max_requests_per_worker"] = args.scorer_max_requests
    changes: dict[str, Any] = {"limits": replace(base.limits, **limits)}
    for attribute, value in (("env_allowlist", _scorer_env(args.scorer_env)),
                             ("network", args.scorer_network), ("isolation", args.scorer_isolation),
                             ("workers_per_scorer", args.scorer_workers),
                             ("worker_concurrency", args.scorer_worker_concurrency)):
        if value is not None:
            changes[attribute] = value
    try:
        return replace(base, **changes)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _scorer_env(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else parse_scorer_env(value)
