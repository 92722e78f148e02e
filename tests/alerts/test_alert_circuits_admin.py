"""A channel's circuit breaker as the admin API and ``judgeval alerts show NAME`` show it: a running
evaluator, a real webhook receiver that refuses, test notifications through the real ``Alerts`` gRPC API, the
CLI as a user runs it. Closed, then failing but still closed, then open until the probe (with the last
failure), then closed again once the receiver is back and the probe goes through."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import grpc
from judgeval.admin.v1 import alerts_pb2 as pb
from judgeval.admin.v1 import alerts_pb2_grpc as pb_grpc

from evaluator_service.admin.alerts_servicer import alerts_installer
from evaluator_service.alerts.channels import ChannelDelivery
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from tests.support.cli import run_cli

from .engine_harness import Clock
from .polite_alerts import alert_doc
from .webhook_receiver import WebhookReceiver

KEY = "circuits-admin-key"
RULE = {"name": "rude-replies", "failure_rate_above": 0.5, "window": "1m", "min_count": 2}
HOOK = {"type": "webhook", "retry": {"attempts": 1}, "circuit_breaker": {"failures": 2, "cooldown": "1h"}}


@asynccontextmanager
async def serving(config: EvaluatorConfig, clock: Clock) -> AsyncIterator[EvaluatorApp]:
    # One clock for the engine and the breakers, so the time of the next probe is exact.
    manager = AlertManager(config.alerts, channel_configs=config.channels, clock=clock,
                           delivery=ChannelDelivery(clock=clock), tick_s=0.1)
    app = EvaluatorApp(config, alerts=manager, service_installers=[alerts_installer(manager, KEY)])
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace=5)


async def cli(app: EvaluatorApp, *args: str) -> tuple[int, str]:
    result = await run_cli("alerts", *args, env={"JUDGMENT_API_URL": f"127.0.0.1:{app.port}",
                                                 "JUDGMENT_API_KEY": KEY})
    return result.code, result.stdout + result.stderr


def channel_line(shown: str) -> str:
    [line] = [line.strip() for line in shown.splitlines() if line.strip().startswith("hook (webhook:hook):")]
    return line


async def test_alerts_show_tells_whether_each_channels_circuit_is_closed_open_or_closed_again(
        make_config: Callable[..., EvaluatorConfig]):
    clock = Clock()
    with WebhookReceiver(fail_first=2) as hook:
        config = make_config({**alert_doc(hook, RULE), "channels": {"hook": {**HOOK, "url": hook.url}}})
        async with serving(config, clock) as app:
            _, before = await cli(app, "show", "rude-replies")
            await cli(app, "test", "rude-replies")
            _, failing = await cli(app, "show", "rude-replies")
            code_test, refused = await cli(app, "test", "rude-replies")
            _, opened = await cli(app, "show", "rude-replies")
            _, opened_json = await cli(app, "show", "rude-replies", "--json")
            clock.advance(3600)  # the cool-down is over: the next try is the probe, and the receiver is back
            _, probe_due = await cli(app, "show", "rude-replies")
            code_probe, _ = await cli(app, "test", "rude-replies")
            _, after = await cli(app, "show", "rude-replies")
    probe_at = datetime.fromtimestamp(clock.now, UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert "channels (circuit breakers of replica " in before, before
    assert channel_line(before) == "hook (webhook:hook): closed"
    assert channel_line(failing) == ("hook (webhook:hook): closed; 1 of 2 consecutive failed tries "
                                     "(last: HTTP 500)")
    assert code_test == 1 and "FAILED (HTTP 500" in refused
    assert channel_line(opened) == (f"hook (webhook:hook): OPEN until {probe_at} UTC, then one probe; "
                                    "2 of 2 consecutive failed tries (last: HTTP 500)")
    [circuit] = json.loads(opened_json)["alert"]["circuits"]
    assert circuit == {"channel": "hook", "target": "webhook:hook", "state": "open",
                       "consecutive_failures": 2, "failure_threshold": 2, "last_failure": "HTTP 500",
                       "next_probe_at": datetime.fromtimestamp(clock.now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "replica": app.alerts.replica}
    assert channel_line(probe_due) == channel_line(opened)  # open until a try probes it
    assert code_probe == 0 and channel_line(after) == "hook (webhook:hook): closed"
    assert [p.status for p in hook.posts] == [500, 500, 200]  # the refused test never reached the receiver


async def test_list_alerts_carries_the_circuits_too(make_config: Callable[..., EvaluatorConfig]):
    with WebhookReceiver() as hook:
        config = make_config({**alert_doc(hook, RULE), "channels": {"hook": {**HOOK, "url": hook.url}}})
        async with (serving(config, Clock()) as app,
                    grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel):
            reply = await pb_grpc.AlertsStub(channel).ListAlerts(
                pb.ListAlertsRequest(), metadata=[("authorization", f"Bearer {KEY}")])
    [alert] = reply.alerts
    [circuit] = alert.circuits
    assert (circuit.channel, circuit.target, circuit.state) == ("hook", "webhook:hook", "closed")
    assert (circuit.consecutive_failures, circuit.failure_threshold) == (0, 2)
    assert not circuit.HasField("next_probe_at") and circuit.replica == app.alerts.replica
