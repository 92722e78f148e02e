"""Fixtures for shared-state tests: a real PostgreSQL cluster for the session, and ``state_url``
parametrized over both backends so every contract test runs against SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .postgres_cluster import ALLOW_SKIP_ENV, PostgresCluster, find_bindir


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A private PostgreSQL server for this test session (CI runs ``scripts/ensure-postgres`` first)."""
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb) not found; run scripts/ensure-postgres"
        if os.environ.get(ALLOW_SKIP_ENV) == "1":
            pytest.skip(f"{message} ({ALLOW_SKIP_ENV}=1)")
        pytest.fail(f"{message}, or set {ALLOW_SKIP_ENV}=1 to skip these tests", pytrace=False)
    cluster = PostgresCluster.start(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One database URL, empty, that two 'replicas' in a test can both open."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared' / 'state.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.url(cluster.new_database())


@pytest.fixture(scope="session")
def envs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scorer environments are a cache keyed by requirements, shared across tests as in production."""
    return tmp_path_factory.mktemp("scorer-envs")
