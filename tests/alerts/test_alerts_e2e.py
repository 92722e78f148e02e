"""End to end through a running evaluator: spans scored by a real scorer reach the alert engine, the alert
fires to a real HTTP receiver with a trace link, and ``judgeval alerts ...`` reads and changes it over the
admin gRPC API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from judgeval import semconv
from judgeval.admin.v1 import alerts_pb2 as pb
from judgeval.admin.v1 import alerts_pb2_grpc as pb_grpc
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.admin.alerts_servicer import alerts_installer
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from evaluator_service.config_values import ConfigError
from tests.support.cli import run_cli

from .polite_alerts import BAD, GOOD, alert_doc, judged, send_outputs
from .webhook_receiver import WebhookReceiver

KEY = "alerts-admin-key"
RULE = {"name": "rude-replies", "failure_rate_above": 0.5, "window": "1m", "min_count": 2,
        "service": "support-bot", "link_template": "http://jaeger:16686/trace/{trace_id}"}


@asynccontextmanager
async def serving(config: EvaluatorConfig, hook: WebhookReceiver, **kwargs: Any
                  ) -> AsyncIterator[EvaluatorApp]:
    manager = AlertManager(config.alerts, channel_configs=config.channels, tick_s=0.1)
    app = EvaluatorApp(config, alerts=manager, service_installers=[alerts_installer(manager, KEY)], **kwargs)
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace=5)


async def cli(app: EvaluatorApp, *args: str) -> tuple[int, str]:
    result = await run_cli("alerts", *args, env={"JUDGMENT_API_URL": f"127.0.0.1:{app.port}",
                                                 "JUDGMENT_API_KEY": KEY})
    return result.code, result.stdout + result.stderr


def counters(reader: InMemoryMetricReader, name: str) -> dict[tuple[str, ...], int]:
    data = reader.get_metrics_data()
    assert data is not None
    return {tuple(str(v) for v in point.attributes.values()): int(point.value)
            for rm in data.resource_metrics for sm in rm.scope_metrics for metric in sm.metrics
            if metric.name == name for point in metric.data.data_points}


async def test_scores_fire_an_alert_and_the_cli_shows_it(make_config: Callable[..., EvaluatorConfig],
                                                         webhook: WebhookReceiver):
    reader = InMemoryMetricReader()
    async with serving(make_config(alert_doc(webhook, RULE)), webhook, metric_readers=[reader]) as app:
        traces = await send_outputs(app, [GOOD, BAD, BAD])
        await judged(app, 3)
        fired = (await asyncio.to_thread(webhook.wait_for, 1, "firing"))[0]
        code, listing = await cli(app, "list")
        _, shown = await cli(app, "show", "rude-replies")
        _, history_json = await cli(app, "history", "rude-replies", "--json")
        code_missing, missing = await cli(app, "show", "no-such-alert")
        code_limit, limit = await cli(app, "history", "--limit", "-3")
    assert fired["kind"] == "firing" and fired["alert"] == "rude-replies"
    assert fired["labels"]["service.name"] == "support-bot"
    assert fired["examples"][0]["trace_id"] in traces[1:]
    assert fired["examples"][0]["link"] == f"http://jaeger:16686/trace/{fired['examples'][0]['trace_id']}"
    # the keyword scorer's own reason, not "polite = 0"
    assert fired["reason"] == fired["examples"][0]["reason"] == 'missing "thanks"'
    assert code == 0 and "rude-replies" in listing and "firing" in listing, listing
    assert "state:       firing (critical)" in shown and "ok > firing" in shown, shown
    transitions = json.loads(history_json)["transitions"]
    assert transitions[0]["to_state"] == "firing"
    assert transitions[0]["channels"][0]["status"] == "delivered"
    assert transitions[0]["channels"][0]["attempt_log"][0]["ok"] is True
    assert code_missing == 1 and "no alert named 'no-such-alert'" in missing and "Traceback" not in missing
    assert code_limit == 2 and "--limit -3: must be 1..1000" in limit
    assert counters(reader, semconv.METRIC_ALERTS_FIRED) == {("rude-replies",): 1}
    assert counters(reader, semconv.METRIC_ALERTS_DELIVERY_ATTEMPTS) == {("webhook:hook", "delivered"): 1}


async def test_silences_and_test_notifications_from_the_cli(make_config: Callable[..., EvaluatorConfig],
                                                            webhook: WebhookReceiver):
    async with serving(make_config(alert_doc(webhook, RULE)), webhook) as app:
        code, created = await cli(app, "silence", "create", "--match", "alert=rude-replies", "--for", "1h",
                                  "--comment", "deploying", "--json")
        assert code == 0, created
        silence_id = json.loads(created)["id"]
        assert json.loads(created).get("active") is True, created  # it starts now: active, not upcoming
        await send_outputs(app, [BAD, BAD])
        await judged(app, 2)
        code_later, _ = await cli(app, "silence", "create", "--match", "severity=warning",
                                  "--starts-in", "1d", "--for", "2h", "--comment", "maintenance")
        _, listed = await cli(app, "silence", "list")
        code_test, tested = await cli(app, "test", "rude-replies")
        bad_code, bad_match = await cli(app, "silence", "create", "--match", "nolabel", "--for", "1h")
        await asyncio.to_thread(webhook.wait_for, 1)  # the test notification
        history = []
        for _ in range(100):  # the silenced firing is in the history (the tick runs every 0.1 s)
            _, out = await cli(app, "history", "--json")
            history = json.loads(out).get("transitions", [])
            if any(t["to_state"] == "firing" for t in history):
                break
        code_expire, _ = await cli(app, "silence", "expire", silence_id)
        code_again, again = await cli(app, "silence", "expire", silence_id)
    assert silence_id in listed and "active" in listed and "alert=rude-replies" in listed
    assert code_later == 0 and "upcoming" in listed
    assert "severity=warning" in listed and "maintenance" in listed
    assert code_test == 0 and "hook (webhook:hook): sent (HTTP 200, 1 attempt(s))" in tested
    assert bad_code == 2 and "expected LABEL=VALUE" in bad_match
    firing = next(t for t in history if t["to_state"] == "firing")
    assert firing["silenced_by"] == silence_id
    assert [b["kind"] for b in webhook.accepted()] == ["test"]
    assert code_expire == 0 and code_again == 1 and "no active or upcoming silence" in again


def test_notify_must_name_a_channel_and_old_settings_get_a_migration_message(
        make_config: Callable[..., EvaluatorConfig], webhook: WebhookReceiver):
    with pytest.raises(ConfigError, match=r"alerts\[0\]\.notify: unknown channel 'pager' \(channels: hook\)"):
        make_config(alert_doc(webhook, {**RULE, "notify": ["pager"]}))
    with pytest.raises(ConfigError, match=r"alerts\[0\]\.notify: notification targets moved"):
        make_config(alert_doc(webhook, {**RULE, "notify": {"webhook": {"url": webhook.url}}}))
    with pytest.raises(ConfigError, match=r"alerts\[0\]\.cooldown: replaced by `renotify:`"):
        make_config(alert_doc(webhook, {**RULE, "cooldown": "10m"}))


async def test_the_api_refuses_wrong_keys_and_bad_silences(make_config: Callable[..., EvaluatorConfig],
                                                           webhook: WebhookReceiver):
    codes = []
    async with (serving(make_config(alert_doc(webhook, RULE)), webhook) as app,
                grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel):
        stub = pb_grpc.AlertsStub(channel)
        requests = [("GetAlert", pb.GetAlertRequest(name="secret-name")),
                    ("CreateSilence", pb.CreateSilenceRequest(matchers={"alert": "x"})),
                    ("CreateSilence", pb.CreateSilenceRequest(duration_seconds=60)),
                    ("AlertHistory", pb.AlertHistoryRequest(limit=-1))]
        for key in ("wrong", KEY):
            for method, request in requests:
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await getattr(stub, method)(request, metadata=[("authorization", f"Bearer {key}")])
                codes.append((caught.value.code(), caught.value.details()))
    wrong, right = codes[:4], codes[4:]
    assert {code for code, _ in wrong} == {grpc.StatusCode.UNAUTHENTICATED}
    assert not any("secret-name" in (details or "") for _, details in wrong)
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert right == [(grpc.StatusCode.NOT_FOUND, "no alert named 'secret-name' (alerts: rude-replies)"),
                     (invalid, "give ends_at or a positive duration_seconds"),
                     (invalid, "a silence needs at least one matcher (e.g. alert=NAME)"),
                     (invalid, "limit must be 1..1000 (0: 50)")]


async def test_a_new_behavior_from_real_failures_pages_through_the_behavior_alert(
        make_config: Callable[..., EvaluatorConfig], webhook: WebhookReceiver):
    # The whole chain with no stand-in: failing scores -> the behaviors engine founds a behavior and logs
    # behavior.created in the state database -> the alert engine reads the log -> the webhook channel.
    alert = {"name": "new-failure-modes", "behavior": ["created"],
             "issue_link_template": "http://console/behaviors/{behavior_id}"}
    async with serving(make_config(alert_doc(webhook, alert)), webhook) as app:
        await send_outputs(app, [BAD, BAD])
        [page] = await asyncio.to_thread(webhook.wait_for, 1, alert="new-failure-modes", timeout=60)
    assert page["kind"] == "behavior" and page["details"]["event"] == "behavior.created", page
    behavior_id = page["details"]["behavior_id"]
    assert page["links"]["issue"] == f"http://console/behaviors/{behavior_id}"
    assert len(webhook.accepted(alert="new-failure-modes")) == 1  # two failures, one new behavior, one page
