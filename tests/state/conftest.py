"""Fixtures for shared-state tests: ``state_url`` parametrized over both backends, so every contract test
runs against SQLite and PostgreSQL (the cluster is the session's ``postgres`` fixture, tests/support)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.postgres_cluster import PostgresCluster


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One database URL, empty, that two 'replicas' in a test can both open."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared' / 'state.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.url(cluster.new_database())
