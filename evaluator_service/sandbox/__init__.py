"""Runs uploaded scorer code in separate, resource-limited, confined worker processes.

Imports are lazy so the worker and launcher processes, which import submodules of this package, load
nothing they do not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluator_service.sandbox.config import DEFAULT_SCORER_ENV as DEFAULT_SCORER_ENV
    from evaluator_service.sandbox.config import SandboxConfig as SandboxConfig
    from evaluator_service.sandbox.config import SandboxLimits as SandboxLimits
    from evaluator_service.sandbox.config import parse_scorer_env as parse_scorer_env
    from evaluator_service.sandbox.isolation import SandboxUnavailable as SandboxUnavailable
    from evaluator_service.sandbox.options import add_sandbox_arguments as add_sandbox_arguments
    from evaluator_service.sandbox.options import sandbox_config_from_args as sandbox_config_from_args
    from evaluator_service.sandbox.pool import SandboxPool as SandboxPool
    from evaluator_service.sandbox.uploaded_source import UploadedScorer as UploadedScorer
    from evaluator_service.sandbox.uploaded_source import UploadedScorerSource as UploadedScorerSource
    from evaluator_service.sandbox.worker_handle import ScorerProgram as ScorerProgram
    from evaluator_service.sandbox.worker_handle import WorkerFailed as WorkerFailed
    from evaluator_service.sandbox.worker_handle import WorkerInterrupted as WorkerInterrupted

_EXPORTS = {
    "DEFAULT_SCORER_ENV": "config", "SandboxConfig": "config", "SandboxLimits": "config",
    "parse_scorer_env": "config",
    "add_sandbox_arguments": "options", "sandbox_config_from_args": "options",
    "SandboxPool": "pool", "SandboxUnavailable": "isolation",
    "ScorerProgram": "worker_handle", "WorkerFailed": "worker_handle", "WorkerInterrupted": "worker_handle",
    "UploadedScorer": "uploaded_source", "UploadedScorerSource": "uploaded_source",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"evaluator_service.sandbox.{_EXPORTS[name]}"), name)
