"""The ``judgeval`` package (agents, the CLI, ``judgeval.testing``) imports nothing that only the
``[evaluator]`` extra installs, and nothing of ``evaluator_service``, not even lazily inside a function.

The forbidden modules are derived from the installed metadata (the extra's distributions and the
top-level modules they provide), so the test follows ``pyproject.toml``.
"""

from __future__ import annotations

import re
from importlib import metadata

from evaluator_service.entry_point import DISTRIBUTION, extra_requirements

from .source_imports import JUDGEVAL_DIR, REPO_ROOT, imports_of, python_sources


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def server_only_modules() -> set[str]:
    """Top-level modules that only the distributions the ``[evaluator]`` extra adds provide (a namespace such
    as ``google`` that a base dependency provides too is not server-only), and the server itself."""
    extra = {_canonical(name) for name in extra_requirements(metadata.requires(DISTRIBUTION) or [])}
    provided = metadata.packages_distributions()
    return {"evaluator_service"} | {
        module for module, dists in provided.items() if all(_canonical(d) in extra for d in dists)
    }


def test_the_forbidden_set_holds_the_server_dependencies() -> None:
    assert {"evaluator_service", "psycopg", "aiohttp", "jsonschema", "yaml", "grpc_health", "openai",
            "httpx"} <= server_only_modules()
    base = {"grpc", "opentelemetry", "pydantic", "wrapt", "google", "judgeval"}
    assert base.isdisjoint(server_only_modules())


def test_the_sdk_imports_no_server_only_module() -> None:
    forbidden = server_only_modules()
    offenders = {}
    for path in python_sources(JUDGEVAL_DIR):
        modules = sorted(m for m in imports_of(path) if m.split(".")[0] in forbidden)
        if modules:
            offenders[str(path.relative_to(REPO_ROOT))] = modules
    assert offenders == {}
