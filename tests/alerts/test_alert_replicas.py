"""Two alert engines (as two evaluator replicas) sharing one real PostgreSQL state database: shared windows,
one transition, one notification per event, however the ticks and delivery workers interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.state import SharedState, open_shared_state
from tests.support.postgres_cluster import PostgresCluster

from .engine_harness import Clock, HttpPostChannel, MemoryBehaviorLog, alerts, score
from .webhook_receiver import WebhookReceiver

RULES = ({"name": "drop", "failure_rate_above": 0.5, "window": "5m", "min_count": 4, "notify": ["hook"]},
         {"name": "new-behavior", "behavior": "created", "notify": ["hook"]})


@pytest.fixture
async def two_states(postgres: PostgresCluster) -> AsyncIterator[list[SharedState]]:
    url = postgres.url(postgres.new_database())
    states = [open_shared_state(url), open_shared_state(url)]
    await asyncio.gather(*(s.open() for s in states))
    yield states
    await asyncio.gather(*(s.close() for s in states))


async def replicas(states: list[SharedState], clock: Clock, hook: WebhookReceiver,
                   log: MemoryBehaviorLog) -> list[AlertManager]:
    managers = []
    for state in states:
        manager = AlertManager(alerts(*RULES), channels={"hook": HttpPostChannel("hook", hook.url)},
                               clock=clock, behavior_log=log)
        await manager.open(state)
        managers.append(manager)
    return managers


async def test_two_replicas_share_windows_and_notify_once(two_states: list[SharedState], clock: Clock,
                                                          webhook: WebhookReceiver):
    log = MemoryBehaviorLog()
    a, b = await replicas(two_states, clock, webhook, log)
    for manager in (a, b):  # neither replica alone reaches min_count 4
        manager.record(score(0.0))
        manager.record(score(0.0))
    log.append(BehaviorEventKind.CREATED, "bhv_1", clock.now)
    for _ in range(3):
        await asyncio.gather(a.tick(), b.tick())
        clock.advance(1)
    assert a.worker is not None and b.worker is not None
    for _ in range(3):
        await asyncio.gather(a.worker.run_once(), b.worker.run_once())
    history = [h.to_state for h in await a.history("drop")]
    assert history == ["firing"]
    assert sorted((body["alert"], body["kind"]) for body in webhook.accepted()) == [
        ("drop", "firing"), ("new-behavior", "behavior")]
    assert await two_states[0].outbox_counts() == {"delivered": 2}


async def test_a_lease_keeps_two_workers_from_sending_one_row_twice(two_states: list[SharedState],
                                                                    clock: Clock, webhook: WebhookReceiver):
    a, b = await replicas(two_states, clock, webhook, MemoryBehaviorLog())
    for _ in range(4):
        a.record(score(0.0))
    await a.tick()
    leased = await two_states[0].lease_due_notifications("replica-a", clock.now, 60, 10)
    assert len(leased) == 1
    assert b.worker is not None
    assert await b.worker.run_once() == 0  # leased by a replica that then died
    clock.advance(61)
    assert await b.worker.run_once() == 1  # the lease expired: another replica sends it
    assert [body["kind"] for body in webhook.accepted()] == ["firing"]
