"""Fixtures for hosted-scorer tests: a real registry in tmp_path, a real in-process admin gRPC server on
port 0, the real ``judgeval`` console script in a subprocess, and real sandbox workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from evaluator_service.admin import install_admin_service
from evaluator_service.registry import EnvironmentInstaller, Registry

SCORERS = Path(__file__).parent / "scorers"
DOCS_SCORER = Path(__file__).parents[2] / "examples" / "customer_service" / "customer_service_scorer.py"
"""The docs' scorer, as the examples keep it."""
DOCS_REQUIREMENTS = "pydantic\nopenai\n"
API_KEY = "test-admin-key"


@pytest.fixture
def registry(tmp_path: Path, envs_dir: Path) -> Registry:
    # --no-index: tests never reach PyPI; the docs' requirements are satisfied by the evaluator's packages.
    installer = EnvironmentInstaller(envs_dir, pip_args=("--no-index",), pip_timeout_s=120)
    return Registry(tmp_path / "data", installer=installer)


@dataclass
class AdminServer:
    target: str
    registry: Registry


@pytest.fixture
async def admin_server(registry: Registry) -> AsyncIterator[AdminServer]:
    server = grpc.aio.server()
    install_admin_service(server, registry, API_KEY)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield AdminServer(f"127.0.0.1:{port}", registry)
    await server.stop(None)


def cli_env(server: AdminServer, key: str = API_KEY) -> dict[str, str]:
    return {"JUDGMENT_API_URL": server.target, "JUDGMENT_API_KEY": key}
