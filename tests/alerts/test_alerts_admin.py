"""The ``judgeval.admin.v1.Alerts`` API (bearer auth shared with ScorerAdmin) and ``judgeval alerts``."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from judgeval.admin.v1 import alerts_pb2 as pb
from judgeval.admin.v1 import alerts_pb2_grpc as pb_grpc

from evaluator_service.admin.alerts_servicer import alerts_installer
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig

from .polite_alerts import BAD, alert, alert_doc, send_outputs
from .webhook_receiver import WebhookReceiver

KEY = "alerts-admin-key"


@asynccontextmanager
async def serving(config: EvaluatorConfig, api_key: str | None) -> AsyncIterator[EvaluatorApp]:
    manager = AlertManager(config.alerts)
    app = EvaluatorApp(config, alerts=manager, service_installers=[alerts_installer(manager, api_key)])
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace=5)


async def call(app: EvaluatorApp, method: str, request: Any, key: str | None = KEY) -> Any:
    metadata = [("authorization", f"Bearer {key}")] if key else []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        return await getattr(pb_grpc.AlertsStub(channel), method)(request, metadata=metadata, timeout=20)


def two_alerts(hook: WebhookReceiver) -> dict[str, Any]:
    return alert_doc(alert("rude", hook, score_below=0.5, where={"service.name": "support-bot"}),
                     alert("drop", None, failure_rate_above=0.3, window="5m", min_count=10))


async def test_list_alerts_shows_state_after_firing(make_config: Callable[..., EvaluatorConfig],
                                                    webhook: WebhookReceiver):
    async with serving(make_config(two_alerts(webhook)), KEY) as app:
        before = await call(app, "ListAlerts", pb.ListAlertsRequest())
        await send_outputs(app, [BAD])
        await asyncio.to_thread(webhook.wait_for, 1, "firing")
        after = await call(app, "ListAlerts", pb.ListAlertsRequest())
    assert [(a.name, a.state, a.fired_count, a.HasField("last_fired_at")) for a in before.alerts] == [
        ("rude", "ok", 0, False), ("drop", "ok", 0, False)]
    rude, drop = after.alerts
    assert (rude.state, rude.fired_count, rude.last_value) == ("firing", 1, 0.0)
    assert rude.condition == "score_below"
    assert rude.HasField("last_fired_at") and list(rude.where) == ["service.name=support-bot"]
    assert list(rude.targets) == ["log", f"{webhook.url.rsplit('/', 1)[0]}/..."]  # the path may hold a token
    assert (drop.condition, drop.window_seconds, drop.min_count, list(drop.targets)) == (
        "failure_rate_above", 300.0, 10, ["log"])


async def test_test_alert_delivers_to_webhook(make_config: Callable[..., EvaluatorConfig],
                                              webhook: WebhookReceiver):
    async with serving(make_config(two_alerts(webhook)), KEY) as app:
        reply = await call(app, "TestAlert", pb.TestAlertRequest(name="rude"))
    assert [(d.target, d.ok) for d in reply.deliveries] == [("log", True), (f"{webhook.url[:-5]}/...", True)]
    (body,) = webhook.accepted("test")
    assert body["alert"] == "rude" and body["condition"] == "score_below"


async def test_unknown_alert_is_not_found(make_config: Callable[..., EvaluatorConfig],
                                          webhook: WebhookReceiver):
    async with serving(make_config(two_alerts(webhook)), KEY) as app:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(app, "TestAlert", pb.TestAlertRequest(name="nope"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "no alert named 'nope' (alerts: drop, rude)"


@pytest.mark.parametrize(("server_key", "client_key", "code"), [
    (KEY, None, grpc.StatusCode.UNAUTHENTICATED),
    (KEY, "wrong", grpc.StatusCode.UNAUTHENTICATED),
    (None, KEY, grpc.StatusCode.FAILED_PRECONDITION),
])
async def test_calls_need_the_api_key(make_config: Callable[..., EvaluatorConfig], webhook: WebhookReceiver,
                                      server_key: str | None, client_key: str | None, code: grpc.StatusCode):
    async with serving(make_config(two_alerts(webhook)), server_key) as app:
        calls = (("ListAlerts", pb.ListAlertsRequest()), ("TestAlert", pb.TestAlertRequest(name="rude")))
        for method, request in calls:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(app, method, request, client_key)
            assert caught.value.code() == code
    assert not webhook.posts


async def cli(app: EvaluatorApp, *args: str, key: str = KEY) -> tuple[int, str, str]:
    """Run the installed ``judgeval`` console script without blocking the in-process server."""
    env = os.environ | {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": key}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "judgeval"), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_lists_and_tests_alerts(make_config: Callable[..., EvaluatorConfig],
                                          webhook: WebhookReceiver):
    async with serving(make_config(two_alerts(webhook)), KEY) as app:
        await send_outputs(app, [BAD])
        await asyncio.to_thread(webhook.wait_for, 1, "firing")
        listed = await cli(app, "alerts", "list")
        tested = await cli(app, "alerts", "test", "rude")
        wrong_key = await cli(app, "alerts", "list", key="wrong")
        unknown = await cli(app, "alerts", "test", "nope")
    code, out, err = listed
    assert code == 0 and err == ""
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["rude"][1:4] == ["firing", "score_below", "0.5"] and rows["drop"][1] == "ok"
    assert tested[0] == 0 and "sent (HTTP 200, 1 attempt(s))" in tested[1]
    assert wrong_key[0] == 1 and wrong_key[1] == ""
    assert wrong_key[2].startswith("judgeval: error: the evaluator at 127.0.0.1:")
    assert "rejected the API key" in wrong_key[2]
    assert len(wrong_key[2].strip().splitlines()) == 1 and "Traceback" not in wrong_key[2]
    assert unknown[0] == 1
    assert unknown[2].strip() == "judgeval: error: no alert named 'nope' (alerts: drop, rude)"


async def test_cli_without_alerts_says_how_to_add_them(make_config: Callable[..., EvaluatorConfig]):
    async with serving(make_config({}), KEY) as app:
        code, out, err = await cli(app, "alerts", "list")
        unknown = await cli(app, "alerts", "test", "any")
    assert (code, err) == (0, "")
    assert out.strip() == "No alerts configured (add an `alerts:` list to the evaluator's YAML config)."
    assert unknown[2].strip() == "judgeval: error: no alert named 'any' (alerts: none configured)"


async def test_cli_test_reports_a_failing_webhook(make_config: Callable[..., EvaluatorConfig]):
    with WebhookReceiver(fail_first=100) as broken:
        async with serving(make_config(two_alerts(broken)), KEY) as app:
            code, out, err = await cli(app, "alerts", "test", "rude")
    assert code == 1 and len(broken.posts) == 4  # the first attempt and max_retries=3 retries
    assert f"{broken.url[:-5]}/...: FAILED (HTTP 500, 4 attempt(s))" in out
    assert err.strip() == (f"judgeval: error: test notification for alert 'rude' could not be delivered to "
                           f"{broken.url[:-5]}/...")
