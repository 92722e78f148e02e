"""A receiver outage on the path the evaluator really uses: channels built from a ``channels:`` section,
:class:`ChannelDelivery` with its retries and per-target circuit breaker, the durable outbox, all on one
injected clock. The dead receiver's circuit opens and says so (log line, stored attempt), the outbox waits
for the probe instead of asking again and again, a healthy target keeps receiving meanwhile, and when the
receiver is back every notification arrives once, in order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from evaluator_service.alerts.channels import ChannelDelivery, build_channel, http_client
from evaluator_service.alerts.channels.breaker import CircuitState
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.alerts.outbox_worker import RetryPolicy
from evaluator_service.state import SharedState

from .channels.channel_configs import channel_config
from .channels.http_receiver import HttpReceiver
from .engine_harness import Clock, alerts, score

RULE = {"name": "rude", "score_below": 0.5, "quiet": "20s", "notify": ["ops", "backup"]}
POLICY = {"timeout": "2s", "retry": {"attempts": 2, "initial_backoff": "1s"},
          "circuit_breaker": {"failures": 2, "cooldown": "60s"}}
DELIVERY_LOGGER = "evaluator_service.alerts.channels.delivery"


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with http_client() as c:
        yield c


async def send_due(manager: AlertManager) -> None:
    assert manager.worker is not None
    while await manager.worker.run_once():
        pass


async def test_a_dead_receiver_opens_its_circuit_and_gets_everything_once_it_is_back(
        sqlite_state: SharedState, clock: Clock, client: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture):
    async def sleep(seconds: float) -> None:  # a backoff inside one delivery moves the shared clock
        clock.advance(seconds)

    async with HttpReceiver() as gone:
        port = gone.port  # nothing listens here from now on: connections are refused
    async with HttpReceiver() as backup:
        env = {"OPS_URL": f"http://127.0.0.1:{port}/hook", "BACKUP_URL": backup.url("/hook")}
        channels = {name: build_channel(channel_config(name, {"type": "webhook", "url": f"${{env:{var}}}",
                                                              "secret": "${env:SECRET}", **POLICY},
                                                       {**env, "SECRET": "s3cret"}), client)
                    for name, var in (("ops", "OPS_URL"), ("backup", "BACKUP_URL"))}
        delivery = ChannelDelivery(clock=clock, sleep=sleep)
        manager = AlertManager(alerts(RULE, channels=("ops", "backup")), channels=channels, delivery=delivery,
                               clock=clock, retry=RetryPolicy(initial_s=5, max_s=300))
        await manager.open(sqlite_state)
        caplog.set_level(logging.INFO, DELIVERY_LOGGER)

        manager.record(score(0.1))
        await manager.tick()  # firing, to both channels
        await send_due(manager)  # ops: refused twice, the circuit opens; backup: delivered
        assert delivery.circuit_state("webhook:ops") is CircuitState.OPEN
        opened_at = clock.now
        for _ in range(11):  # the circuit's minute, in 5-second steps; the alert resolves meanwhile
            clock.advance(5)
            await manager.tick()
            await send_due(manager)
        assert [b["kind"] for b in (r.json() for r in backup.requests)] == ["firing", "resolved"]
        assert clock.now - opened_at < 60 and delivery.circuit_state("webhook:ops") is CircuitState.OPEN

        async with HttpReceiver(port=port) as ops:  # the receiver is back on its address
            for _ in range(4):
                clock.advance(5)
                await manager.tick()
                await send_due(manager)
        resolved, fired = await manager.history("rude")

    assert [(r.headers["X-Judgeval-Event-Id"], r.json()["kind"]) for r in ops.requests] == [
        (fired.event_id, "firing"), (resolved.event_id, "resolved")]  # each once, in order
    assert all(r.headers["X-Judgeval-Signature"].startswith("sha256=") for r in ops.requests)
    assert await sqlite_state.outbox_counts() == {"delivered": 4}
    assert fired.event_id is not None and resolved.event_id is not None
    tried = [a for a in await sqlite_state.deliveries_of(fired.event_id) if a.channel == "ops"]
    details = [a.detail for a in tried]
    assert [a.ok for a in tried] == [False, False, False, True]
    assert all(d.startswith("ClientConnectorError") for d in details[:2]), details
    # asked once while the circuit was open, told when the probe goes, and not asked again before it
    assert details[2].startswith("not sent: circuit open after 2 consecutive failed attempts (last: "
                                 "ClientConnectorError"), details
    assert details[2].endswith("next probe in 50s"), details
    assert details[3] == "HTTP 200"
    assert [a.ok for a in await sqlite_state.deliveries_of(resolved.event_id) if a.channel == "ops"] == [True]
    said = [r.getMessage() for r in caplog.records if r.name == DELIVERY_LOGGER]
    circuit = [m for m in said if ": circuit " in m]
    assert [m.split(": circuit ")[1].split(" ")[0] for m in circuit] == ["open", "half-open,", "closed,"]
    assert circuit[0].startswith("alert channel webhook:ops: circuit open after 2 consecutive failed")
