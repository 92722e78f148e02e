"""A state database outage: counts wait in memory (bounded to what a window can still use), one error line
per outage, and the alert fires once the database is back; scoring never waits for it."""

from __future__ import annotations

import logging

import pytest

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.state import open_shared_state
from tests.support.postgres_cluster import PostgresCluster, set_reachable

from .engine_harness import Clock, HttpPostChannel, alerts, score
from .webhook_receiver import WebhookReceiver


async def test_counts_survive_an_outage_and_fire_when_the_database_returns(
        postgres: PostgresCluster, clock: Clock, webhook: WebhookReceiver, caplog: pytest.LogCaptureFixture):
    database = postgres.new_database()
    state = open_shared_state(postgres.url(database))
    await state.open()
    rule = {"name": "drop", "failure_rate_above": 0.5, "window": "5m", "min_count": 2, "notify": ["hook"]}
    manager = AlertManager(alerts(rule), channels={"hook": HttpPostChannel("hook", webhook.url)}, clock=clock)
    await manager.open(state)
    caplog.set_level(logging.ERROR, logger="evaluator_service.alerts.manager")
    try:
        set_reachable(postgres, database, False)
        manager.record(score(0.0))
        for _ in range(3):
            await manager._guarded_tick()
            clock.advance(1)
        manager.record(score(0.0))  # counting never needs the database
        await manager._guarded_tick()
        set_reachable(postgres, database, True)
        await manager._guarded_tick()
        assert manager.worker is not None
        await manager.worker.run_once()
        history = await manager.history("drop")
    finally:
        set_reachable(postgres, database, True)
        await state.close()
    assert [h.to_state for h in history] == ["firing"] and history[0].observed == 1.0
    assert [b["kind"] for b in webhook.accepted()] == ["firing"]
    assert sum("alerts: state database" in r.getMessage() for r in caplog.records) == 1


def test_counts_kept_for_an_outage_are_bounded_by_the_window(clock: Clock) -> None:
    manager = AlertManager(alerts({"name": "drop", "failure_rate_above": 0.5, "window": "1m"}), clock=clock)
    counter = manager._counters["drop"]
    for _ in range(600):  # ten minutes of scores during an outage, one flush attempt a second
        manager.record(score(0.0))
        counter.restore(counter.take_rows(), clock.now)
        clock.advance(1)
    assert len(counter.pending) <= 60 / counter.width + 2
