"""Fixtures for hosted-scorer tests: a real registry in tmp_path, a real in-process admin gRPC server on
port 0 (the scorer files and the CLI environment are in ``admin_server.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from evaluator_service.admin import install_admin_service
from evaluator_service.registry import EnvironmentInstaller, Registry

from .admin_server import API_KEY, AdminServer


@pytest.fixture
def registry(tmp_path: Path, envs_dir: Path) -> Registry:
    # --no-index: tests never reach PyPI; the docs' requirements are satisfied by the evaluator's packages.
    installer = EnvironmentInstaller(envs_dir, pip_args=("--no-index",), pip_timeout_s=120)
    return Registry(tmp_path / "data", installer=installer)


@pytest.fixture
async def admin_server(registry: Registry) -> AsyncIterator[AdminServer]:
    server = grpc.aio.server()
    install_admin_service(server, registry, API_KEY)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield AdminServer(f"127.0.0.1:{port}", registry)
    await server.stop(None)
