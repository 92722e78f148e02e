"""Fixtures for alert tests: a real HTTP receiver, a real SQLite state database, an injected clock and an
alert engine bound to them (PostgreSQL and the evaluator fixtures come from ``tests/support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.alerts.outbox_worker import SingleTryDelivery
from evaluator_service.state import SharedState, SqliteSharedState

from .engine_harness import Clock, HttpPostChannel, alerts
from .webhook_receiver import WebhookReceiver


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sqlite_state(tmp_path: Path) -> AsyncIterator[SharedState]:
    state = SqliteSharedState(tmp_path / "state.sqlite3")
    await state.open()
    yield state
    await state.close()


EngineFactory = Callable[..., Awaitable[AlertManager]]


@pytest.fixture
def engine(sqlite_state: SharedState, clock: Clock, webhook: WebhookReceiver) -> EngineFactory:
    """``await engine(entry, ...)``: an alert manager over the SQLite state, ticking on the test's clock and
    notifying the ``hook`` channel (the local receiver)."""

    async def make(*entries: dict[str, Any], state: SharedState | None = None, **kwargs: Any) -> AlertManager:
        # One try per outbox claim: these tests drive the outbox's own retries on the injected clock (the
        # channels' in-call retries and circuit breakers have their own tests in tests/alerts/channels).
        kwargs.setdefault("delivery", SingleTryDelivery())
        manager = AlertManager(alerts(*entries), channels={"hook": HttpPostChannel("hook", webhook.url)},
                               clock=clock, **kwargs)
        await manager.open(state or sqlite_state)
        return manager

    return make
