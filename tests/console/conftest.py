"""Console test fixtures: a real webhook receiver for the alert the fed evaluator fires, and the fed
evaluator itself on each state backend (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.alerts.webhook_receiver import WebhookReceiver
from tests.support.postgres_cluster import PostgresCluster

from .console_stack import FedEvaluator, fed_evaluator


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook


@pytest.fixture(params=["sqlite", "postgresql"])
async def fed(request: pytest.FixtureRequest, make_config: Any, receiver: Any, webhook: Any
              ) -> AsyncIterator[FedEvaluator]:
    state_db = None  # the default: SQLite in the data directory
    if request.param == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        state_db = cluster.url(cluster.new_database())
    async with fed_evaluator(make_config, receiver, webhook, state_db) as running:
        yield running
