"""Two alert engines (as two evaluator replicas) sharing one real PostgreSQL state database: shared windows,
one transition, one notification per event, however the ticks and delivery workers interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from evaluator_service.alerts.channels import ChannelDelivery, build_channel, http_client
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.state import SharedState, open_shared_state
from tests.support.postgres_cluster import PostgresCluster

from .channels.channel_configs import channel_config
from .channels.http_receiver import Answer, HttpReceiver
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


async def test_a_long_delivery_keeps_its_lease_so_no_other_replica_sends_it_too(
        two_states: list[SharedState], clock: Clock):
    # Six tries of up to 10 s with backoffs of 30 s and 60 s: one delivery may take 330 s, longer than the
    # two-minute minimum lease. Each wait of replica a's retries lets replica b look for due rows.
    policy = {"timeout": "10s", "retry": {"attempts": 6, "initial_backoff": "30s", "max_backoff": "60s"},
              "circuit_breaker": {"failures": 10}}
    b_leased: list[int] = []

    async def a_waits(seconds: float) -> None:
        clock.advance(seconds)
        assert b.worker is not None
        b_leased.append(await b.worker.run_once())

    async def b_waits(seconds: float) -> None:
        clock.advance(seconds)

    def replica(client: aiohttp.ClientSession, url: str, sleep: Callable[[float], Awaitable[None]]
                ) -> AlertManager:
        channel = build_channel(channel_config("hook", {"type": "webhook", "url": url, **policy}), client)
        return AlertManager(alerts({"name": "rude", "score_below": 0.5, "notify": ["hook"]}),
                            channels={"hook": channel}, delivery=ChannelDelivery(clock=clock, sleep=sleep),
                            clock=clock)

    async with http_client() as client, HttpReceiver([Answer(503)] * 4) as receiver:
        url = receiver.url("/hook")
        a, b = replica(client, url, a_waits), replica(client, url, b_waits)
        await a.open(two_states[0])
        await b.open(two_states[1])
        a.record(score(0.1))
        await a.tick()
        assert a.worker is not None
        assert await a.worker.run_once() == 1  # 503 four times, then delivered, 210 s after the lease
    assert b_leased == [0, 0, 0, 0]
    assert len(receiver.requests) == 5  # four refused, one accepted: sent once
    assert len({r.headers["X-Judgeval-Event-Id"] for r in receiver.requests}) == 1
    assert await two_states[0].outbox_counts() == {"delivered": 1}
