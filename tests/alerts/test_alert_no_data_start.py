"""When an empty window means ``no_data``: only once the engine has watched the condition's whole window,
since the alert was defined and since this engine started. A brand-new alert, an evaluator restart and an
outage longer than the window are "nobody was looking yet", not "the data stopped": the stored state is
kept (a restored ``firing`` stays firing), on SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.alerts.outbox_worker import SingleTryDelivery
from evaluator_service.state import SharedState, SqliteSharedState, open_shared_state
from tests.support.postgres_cluster import PostgresCluster

from .engine_harness import Clock, HttpPostChannel, alerts, score
from .webhook_receiver import WebhookReceiver

RATE = {"name": "drop", "failure_rate_above": 0.5, "window": "5m", "min_count": 2, "notify": ["hook"]}
ABSENT = {"name": "stopped", "absent_for": "10m", "notify": ["hook"]}
BELOW = {"name": "low", "score_below": 0.3, "quiet": "5m", "notify": ["hook"]}

StateOpener = Callable[[], SharedState]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_state(request: pytest.FixtureRequest, tmp_path: Path) -> StateOpener:
    """Opens a fresh connection to one database each call (a restarted evaluator opens it anew)."""
    if request.param == "sqlite":
        return lambda: SqliteSharedState(tmp_path / "state.sqlite3")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    url = cluster.url(cluster.new_database())
    return lambda: open_shared_state(url)


class Evaluator:
    """One evaluator process's alert engine: its own state connection, started at the clock's now."""

    def __init__(self, open_state: StateOpener, clock: Clock, hook: WebhookReceiver, *entries: Any) -> None:
        self.state = open_state()
        self.manager = AlertManager(alerts(*entries), channels={"hook": HttpPostChannel("hook", hook.url)},
                                    clock=clock, delivery=SingleTryDelivery())

    async def __aenter__(self) -> AlertManager:
        await self.state.open()
        await self.manager.open(self.state)
        return self.manager

    async def __aexit__(self, *exc: object) -> None:
        assert self.manager.worker is not None
        while await self.manager.worker.run_once():
            pass
        await self.state.close()


@pytest.fixture
def evaluator(open_state: StateOpener, clock: Clock, webhook: WebhookReceiver
              ) -> Callable[..., Evaluator]:
    return lambda *entries: Evaluator(open_state, clock, webhook, *entries)


async def states(manager: AlertManager, name: str) -> list[str]:
    return [f"{h.from_state}>{h.to_state}" for h in reversed(await manager.history(name))]


async def state_of(manager: AlertManager, name: str) -> str:
    return next(v.state for v in await manager.views() if v.alert.name == name)


async def test_a_new_alert_is_no_data_only_after_its_whole_window_passed_empty(
        evaluator: Callable[..., Evaluator], clock: Clock, webhook: WebhookReceiver) -> None:
    burn = {"name": "burn", "burn_rate": {"objective": 0.9, "long_window": "1h"}, "notify": ["hook"]}
    async with evaluator(RATE, burn) as manager:
        await manager.tick()  # the engine ticks before any score arrived
        clock.advance(299)
        await manager.tick()
        assert await states(manager, "drop") == [] and await state_of(manager, "drop") == "ok"
        clock.advance(1)  # five minutes watched, nothing: now the scores really are missing
        await manager.tick()
        assert await states(manager, "drop") == ["ok>no_data"]
        assert await states(manager, "burn") == []  # its long window (1h) has not passed yet
        clock.advance(3300)
        await manager.tick()
        assert await states(manager, "burn") == ["ok>no_data"]
    assert webhook.accepted() == []  # entering no_data from ok notifies nobody


async def test_a_firing_alert_stays_firing_across_a_restart_longer_than_its_window(
        evaluator: Callable[..., Evaluator], clock: Clock, webhook: WebhookReceiver) -> None:
    async with evaluator(RATE, BELOW) as first:
        for value in (0.0, 0.1):
            first.record(score(value))
        await first.tick()
        assert await states(first, "drop") == ["ok>firing"] and await states(first, "low") == ["ok>firing"]
    clock.advance(3600)  # the evaluator was down an hour: nothing was scored, by nobody's fault
    async with evaluator(RATE, BELOW) as second:
        await second.tick()
        clock.advance(299)
        await second.tick()
        assert await state_of(second, "drop") == "firing"  # restored, not "no_data" or "resolved"
        assert await state_of(second, "low") == "firing"
        clock.advance(1)
        await second.tick()
        assert await states(second, "drop") == ["ok>firing", "firing>no_data"]
        assert await states(second, "low") == ["ok>firing", "firing>resolved"]  # a quiet period watched
        second.record(score(1.0))
        second.record(score(1.0))
        await second.tick()
        assert await states(second, "drop") == ["ok>firing", "firing>no_data", "no_data>resolved"]
    kinds = [(b["alert"], b["kind"]) for b in webhook.accepted()]
    assert sorted(kinds) == sorted([("drop", "firing"), ("low", "firing"), ("drop", "no_data"),
                                    ("low", "resolved"), ("drop", "resolved")])
    drop = webhook.accepted(alert="drop")
    assert len({b["dedup_key"] for b in drop}) == 1  # one episode across the restart


async def test_a_restored_no_data_alert_stays_no_data_and_counts_from_before_a_restart_still_count(
        evaluator: Callable[..., Evaluator], clock: Clock) -> None:
    quiet = {**RATE, "name": "quiet", "scorer": "silent"}  # a scorer nobody runs
    async with evaluator(RATE, quiet) as first:
        await first.tick()
        clock.advance(300)
        first.record(score(0.0))
        await first.tick()
        assert await states(first, "quiet") == ["ok>no_data"]
        first.record(score(0.0))
        assert await states(first, "drop") == []  # 1 score < min_count 2 (the second is not flushed yet)
        await first.tick()  # flushes it into the shared buckets
        assert await states(first, "drop") == ["ok>firing"]
    clock.advance(60)  # restarted within the window: the shared buckets still hold both scores
    async with evaluator(RATE, quiet) as second:
        await second.tick()
        assert await state_of(second, "quiet") == "no_data"
        assert await states(second, "drop") == ["ok>firing"]
        clock.advance(240)  # the window is empty now, but this engine has watched 4 of its 5 minutes
        await second.tick()
        assert await state_of(second, "drop") == "firing"
        clock.advance(60)
        await second.tick()
        assert await states(second, "drop") == ["ok>firing", "firing>no_data"]
        assert await states(second, "quiet") == ["ok>no_data"]


async def test_absence_is_not_declared_right_after_a_restart_that_followed_an_outage(
        evaluator: Callable[..., Evaluator], clock: Clock, webhook: WebhookReceiver) -> None:
    async with evaluator(ABSENT) as first:
        clock.advance(900)
        first.record(score(0.9))
        await first.tick()
    clock.advance(7200)  # down for two hours: no results, because no evaluator ran
    async with evaluator(ABSENT) as second:
        await second.tick()
        clock.advance(599)
        await second.tick()
        assert await states(second, "stopped") == []
        clock.advance(1)  # ten minutes of this engine's own watching without a result: the scorer stopped
        await second.tick()
        assert await states(second, "stopped") == ["ok>firing"]
    assert [b["kind"] for b in webhook.accepted()] == ["no_data"]
