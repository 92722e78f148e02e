"""ChannelDelivery against a real local receiver: retries with exponential backoff on 5xx, 408, 429 and
timeouts, no retry on other 4xx, and the per-target circuit breaker (open, refuse, half-open probe, close)
driven by an injected clock, with its log lines and metrics."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.alerts.channels import ChannelDelivery
from evaluator_service.alerts.channels.breaker import CircuitState
from evaluator_service.alerts.notification import AlertNotification, DeliveryAttempt

from .channel_configs import make_channel
from .http_receiver import Answer, HttpReceiver
from .notifications import Attempts, notification

DELIVERY_LOGGER = "evaluator_service.alerts.channels.delivery"


class FakeTime:
    """The injected clock and sleep: sleeping advances the clock and is remembered."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def hook(receiver: HttpReceiver, client: aiohttp.ClientSession, **policy: Any):
    entry: dict[str, Any] = {"type": "webhook", "url": receiver.url("/hook"), "timeout": "0.5s",
                             "retry": {"attempts": 4, "initial_backoff": "1s", "max_backoff": "3s"},
                             "circuit_breaker": {"failures": 10, "cooldown": "60s"}}
    entry.update(policy)
    return make_channel("ops", entry, client)


def delivery(time: FakeTime, reader: InMemoryMetricReader | None = None) -> ChannelDelivery:
    meter = MeterProvider(metric_readers=[reader]).get_meter("test") if reader else None
    return ChannelDelivery(meter=meter, clock=time.clock, sleep=time.sleep)


def points(reader: InMemoryMetricReader, name: str) -> dict[tuple[tuple[str, Any], ...], float]:
    data = reader.get_metrics_data()
    assert data is not None
    return {tuple(sorted((p.attributes or {}).items())): p.value
            for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics if m.name == name
            for p in m.data.data_points}


async def test_5xx_is_retried_with_exponential_backoff_until_delivered(client):
    time = FakeTime()
    async with HttpReceiver([Answer(500), Answer(502), Answer(503)]) as receiver:
        attempts = Attempts()
        assert await delivery(time).deliver(notification(), hook(receiver, client), attempts.record)
    assert [(a.ok, a.status_code, a.retryable) for a in attempts] == [
        (False, 500, True), (False, 502, True), (False, 503, True), (True, 200, True)]
    assert time.slept == [1.0, 2.0, 3.0]  # doubling, capped at max_backoff
    assert len(receiver.requests) == 4


async def test_it_gives_up_after_the_configured_attempts(client, caplog):
    time = FakeTime()
    async with HttpReceiver([Answer(503, "busy")] * 5) as receiver:
        attempts = Attempts()
        with caplog.at_level(logging.WARNING, DELIVERY_LOGGER):
            delivered = await delivery(time).deliver(notification(), hook(receiver, client), attempts.record)
    assert not delivered
    assert len(receiver.requests) == 4 and len(attempts) == 4
    assert attempts[-1] == DeliveryAttempt("webhook:ops", False, "HTTP 503: busy", True, 503)
    assert "not delivered to webhook:ops: HTTP 503: busy" in caplog.text


async def test_a_timeout_is_retried(client):
    time = FakeTime()
    async with HttpReceiver([Answer(200, delay_s=2.0)]) as receiver:
        attempts = Attempts()
        assert await delivery(time).deliver(notification(), hook(receiver, client), attempts.record)
    assert [a.ok for a in attempts] == [False, True]
    assert attempts[0].detail == "timed out after 0.5s" and attempts[0].retryable
    assert time.slept == [1.0]


async def test_408_and_429_are_retried_other_4xx_are_not(client):
    time = FakeTime()
    async with HttpReceiver([Answer(429), Answer(408), Answer(422, "invalid")]) as receiver:
        attempts = Attempts()
        assert not await delivery(time).deliver(notification(), hook(receiver, client), attempts.record)
    assert [(a.status_code, a.retryable) for a in attempts] == [(429, True), (408, True), (422, False)]
    assert len(receiver.requests) == 3


async def test_a_refused_connection_is_retried_and_says_why(client):
    time = FakeTime()
    async with HttpReceiver() as receiver:
        channel = hook(receiver, client, retry={"attempts": 2, "initial_backoff": 0})
    attempts = Attempts()  # the receiver is gone: nothing listens on its port any more
    assert not await delivery(time).deliver(notification(), channel, attempts.record)
    assert len(attempts) == 2 and all(a.retryable for a in attempts)
    assert attempts[0].detail.startswith("ClientConnectorError: Connect call failed")


class RaisingChannel:
    name = "broken:one"

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        raise RuntimeError("secret-looking text that must not be shown")


async def test_a_channel_that_raises_still_yields_attempts(caplog):
    time = FakeTime()
    attempts = Attempts()
    assert not await delivery(time).deliver(notification(), RaisingChannel(), attempts.record)
    assert len(attempts) == 4  # the default policy
    assert attempts[0] == DeliveryAttempt("broken:one", False, "channel error: RuntimeError")


async def test_the_circuit_opens_refuses_probes_and_closes(client, caplog):
    time, reader = FakeTime(), InMemoryMetricReader()
    engine = delivery(time, reader)
    breaker = {"failures": 3, "cooldown": "60s"}
    async with HttpReceiver([Answer(503)] * 4) as receiver:
        retry = {"attempts": 2, "initial_backoff": "1s"}
        channel = hook(receiver, client, retry=retry, circuit_breaker=breaker)
        attempts = Attempts()
        with caplog.at_level(logging.INFO, DELIVERY_LOGGER):
            # two failed tries, then a third: the circuit opens mid-delivery and retrying stops
            assert not await engine.deliver(notification(), channel, attempts.record)
            assert not await engine.deliver(notification(event_id="e2"), channel, attempts.record)
            assert engine.circuit_state("webhook:ops") is CircuitState.OPEN
            assert len(receiver.requests) == 3
            # while open: refused without a request, and the attempt says so
            time.now += 30
            assert not await engine.deliver(notification(event_id="e3"), channel, attempts.record)
            assert len(receiver.requests) == 3
            refused = attempts[-1]
            assert not refused.ok and refused.retryable and refused.status_code is None
            assert refused.detail == ("not sent: circuit open after 3 consecutive failed attempts "
                                      "(last: HTTP 503); next probe in 30s")
            # after the cool-down one probe goes out; it fails, so the circuit opens again at once
            time.now += 31
            assert not await engine.deliver(notification(event_id="e4"), channel, attempts.record)
            assert len(receiver.requests) == 4 and engine.circuit_state("webhook:ops") is CircuitState.OPEN
            assert not await engine.deliver(notification(event_id="e5"), channel, attempts.record)
            assert len(receiver.requests) == 4
            # the next probe succeeds (the receiver answers 200 from now on): closed again
            time.now += 61
            assert await engine.deliver(notification(event_id="e6"), channel, attempts.record)
            assert engine.circuit_state("webhook:ops") is CircuitState.CLOSED
    assert len(receiver.requests) == 5
    messages = [r.getMessage() for r in caplog.records
                if r.name == DELIVERY_LOGGER and "circuit" in r.getMessage()]
    assert messages == [
        "alert channel webhook:ops: circuit open after 3 consecutive failed attempts (last: HTTP 503); "
        "deliveries paused for 60s, then one probe",
        "alert channel webhook:ops: circuit half-open, sending one probe",
        "alert channel webhook:ops: circuit open after 4 consecutive failed attempts (last: HTTP 503); "
        "deliveries paused for 60s, then one probe",
        "alert channel webhook:ops: circuit half-open, sending one probe",
        "alert channel webhook:ops: circuit closed, deliveries resume",
    ]
    outcomes = points(reader, "judgeval.alerts.delivery.attempts")
    assert outcomes == {
        (("channel", "webhook:ops"), ("outcome", "failed")): 4,
        (("channel", "webhook:ops"), ("outcome", "circuit_open")): 2,
        (("channel", "webhook:ops"), ("outcome", "delivered")): 1,
    }
    transitions = points(reader, "judgeval.alerts.circuit.transitions")
    assert transitions == {
        (("channel", "webhook:ops"), ("state", "open")): 2,
        (("channel", "webhook:ops"), ("state", "half_open")): 2,
        (("channel", "webhook:ops"), ("state", "closed")): 1,
    }
    assert points(reader, "judgeval.alerts.circuit.open") == {(("channel", "webhook:ops"),): 0}


async def test_an_open_circuit_shows_in_the_gauge_and_a_success_resets_the_count(client):
    time, reader = FakeTime(), InMemoryMetricReader()
    engine = delivery(time, reader)
    async with HttpReceiver([Answer(500), Answer(200), Answer(500), Answer(500)]) as receiver:
        channel = hook(receiver, client, retry={"attempts": 1}, circuit_breaker={"failures": 2})
        outcomes = [await engine.deliver(notification(), channel, Attempts().record) for _ in range(4)]
    # fail, succeed (count back to 0), fail, fail: only the last two are consecutive
    assert outcomes == [False, True, False, False]
    assert engine.circuit_state("webhook:ops") is CircuitState.OPEN
    assert points(reader, "judgeval.alerts.circuit.open") == {(("channel", "webhook:ops"),): 1}


async def test_circuits_are_per_target(client):
    time = FakeTime()
    async with HttpReceiver([Answer(500)]) as broken, HttpReceiver() as healthy:
        engine = delivery(time)
        bad = make_channel("bad", {"type": "webhook", "url": broken.url(), "retry": {"attempts": 1},
                                   "circuit_breaker": {"failures": 1}}, client)
        good = make_channel("good", {"type": "webhook", "url": healthy.url()}, client)
        assert not await engine.deliver(notification(), bad, Attempts().record)
        assert await engine.deliver(notification(), good, Attempts().record)
    assert engine.circuit_state("webhook:bad") is CircuitState.OPEN
    assert engine.circuit_state("webhook:good") is CircuitState.CLOSED


async def test_retry_after_is_honoured_up_to_max_backoff(client):
    time = FakeTime()
    slow_down = Answer(429, "rate_limited", headers={"Retry-After": "3"})
    async with HttpReceiver([slow_down, Answer(429, headers={"Retry-After": "120"})]) as receiver:
        attempts = Attempts()
        assert not await delivery(time).deliver(notification(), hook(receiver, client), attempts.record)
    # 3 s asked (more than the 1 s backoff) is waited; 120 s (more than max_backoff 3 s) ends this delivery
    assert time.slept == [3.0]
    assert [(a.status_code, a.retry_after_s) for a in attempts] == [(429, 3.0), (429, 120.0)]


def test_retry_after_reads_seconds_and_http_dates():
    from evaluator_service.alerts.channels.http_post import retry_after

    assert retry_after("17") == 17.0
    assert retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412500.0) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


async def test_only_one_probe_goes_out_while_half_open(client):
    time = FakeTime()
    engine = delivery(time)
    async with HttpReceiver([Answer(500), Answer(200, delay_s=0.3)]) as receiver:
        breaker = {"failures": 1, "cooldown": "10s"}
        channel = hook(receiver, client, retry={"attempts": 1}, circuit_breaker=breaker)
        assert not await engine.deliver(notification(), channel, Attempts().record)
        time.now += 11
        probe, other = Attempts(), Attempts()
        results = await asyncio.gather(engine.deliver(notification(event_id="p"), channel, probe.record),
                                       engine.deliver(notification(event_id="q"), channel, other.record))
    assert results == [True, False]
    assert len(receiver.requests) == 2
    assert other[0].detail == ("not sent: circuit half-open after 1 consecutive failed attempts; "
                               "a probe is in flight")
    assert engine.circuit_state("webhook:ops") is CircuitState.CLOSED
