"""Evaluator command-line flags for the scorer sandbox, for the entry point to add and read back."""

from __future__ import annotations

import argparse
from dataclasses import replace

from evaluator_service.config_values import ConfigError
from evaluator_service.sandbox.config import (
    DEFAULT_SCORER_ENV,
    MiB,
    SandboxConfig,
    SandboxLimits,
    parse_scorer_env,
)


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--scorer-env``, ``--scorer-network``, ``--scorer-isolation``, ``--scorer-timeout``,
    ``--scorer-memory-mb``, ``--scorer-workers``, ``--scorer-max-requests`` and
    ``--scorer-worker-concurrency`` to ``parser``."""
    defaults = SandboxLimits()
    group = parser.add_argument_group("uploaded scorer sandbox")
    group.add_argument("--scorer-env", default=",".join(DEFAULT_SCORER_ENV), metavar="NAME,...",
                       help="environment variables passed to uploaded scorers (default %(default)s)")
    group.add_argument("--scorer-network", choices=("host", "none"), default="host",
                       help="host: scorers may call their LLM judge (default); none: no network at all")
    group.add_argument("--scorer-isolation", choices=("auto", "namespaces", "none"), default="auto",
                       help="auto (default): namespaces + sandbox user when running as root")
    group.add_argument("--scorer-timeout", type=float, default=defaults.wall_timeout_s, metavar="SECONDS",
                       help="wall-clock limit of one scorer call (default %(default)s)")
    group.add_argument("--scorer-memory-mb", type=int, default=defaults.memory_bytes // MiB,
                       help="address-space limit of a scorer worker (default %(default)s)")
    group.add_argument("--scorer-workers", type=int, default=2,
                       help="worker processes per scorer version (default %(default)s)")
    group.add_argument("--scorer-max-requests", type=int, default=defaults.max_requests_per_worker,
                       metavar="N", help="requests after which a scorer worker is replaced "
                                         "(default %(default)s)")
    group.add_argument("--scorer-worker-concurrency", type=int, default=SandboxConfig().worker_concurrency,
                       metavar="N", help="requests one scorer worker scores at once (default %(default)s)")


def sandbox_config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The :class:`SandboxConfig` the flags describe; raises :class:`ConfigError` naming the flag."""
    limits = replace(SandboxLimits(), wall_timeout_s=args.scorer_timeout,
                     memory_bytes=args.scorer_memory_mb * MiB,
                     max_requests_per_worker=args.scorer_max_requests)
    try:
        return SandboxConfig(limits=limits, env_allowlist=parse_scorer_env(args.scorer_env),
                             network=args.scorer_network, isolation=args.scorer_isolation,
                             workers_per_scorer=args.scorer_workers,
                             worker_concurrency=args.scorer_worker_concurrency)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
