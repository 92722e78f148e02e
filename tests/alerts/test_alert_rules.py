"""Alert rules end to end: real evaluator on port 0, real downstream, real HTTP webhook receiver.

Scores come from the deterministic ``keyword`` scorer, so every verdict is known in advance. Negative
claims ("no second notification") are checked after a later notification that must come after it, or
after ``app.stop()``, which sends everything queued, never by waiting a fixed time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from judgeval import semconv
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from tests.support.evaluator import wait_for

from .polite_alerts import BAD, GOOD, SCORER, alert, alert_doc, judged, send_outputs
from .webhook_receiver import WebhookReceiver


async def started(config: EvaluatorConfig, **kwargs: Any) -> EvaluatorApp:
    app = EvaluatorApp(config, **kwargs)
    await app.start()
    return app


def fired_counts(reader: InMemoryMetricReader) -> dict[str, int]:
    """``judgeval.alerts.fired`` by alert name."""
    data = reader.get_metrics_data()
    assert data is not None
    return {
        str(point.attributes["alert"]): int(point.value)
        for rm in data.resource_metrics for sm in rm.scope_metrics for metric in sm.metrics
        if metric.name == "judgeval.alerts.fired" for point in metric.data.data_points
    }


async def test_score_below_fires_once_per_cooldown(make_config, webhook: WebhookReceiver, caplog):
    doc = alert_doc(alert("rude-reply", webhook, score_below=0.5, cooldown="1h"),
                    alert("every-rude-reply", webhook, score_below=0.5, cooldown=0))
    reader = InMemoryMetricReader()
    app = await started(make_config(doc), metric_readers=[reader])
    caplog.set_level(logging.WARNING, logger="evaluator_service.alerts.manager")
    try:
        traces = await send_outputs(app, [GOOD, BAD, BAD, BAD])
        await asyncio.to_thread(webhook.wait_for, 3, "firing", "every-rude-reply")
    finally:
        await app.stop(grace=5)
    once = webhook.accepted("firing", "rude-reply")
    assert len(once) == 1, once
    body = once[0]
    assert body["scorer"] == SCORER and body["condition"] == "score_below" and body["threshold"] == 0.5
    assert body["observed"] == 0.0 and body["service_name"] == "support-bot"
    assert body["examples"][0]["trace_id"] == traces[1]
    assert body["fired_at"].endswith("+00:00")
    assert any("alert 'rude-reply' firing" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)
    assert fired_counts(reader) == {"rude-reply": 1, "every-rude-reply": 3}
    every = webhook.accepted("firing", "every-rude-reply")
    assert [body["examples"][0]["trace_id"] for body in every] == traces[1:]  # the triggering span first


async def test_failure_rate_fires_when_window_fills_then_resolves(make_config, webhook: WebhookReceiver):
    rule = alert("politeness-drop", webhook, failure_rate_above=0.5, window="4s", min_count=3, cooldown=0,
                 link_template="http://jaeger:16686/trace/{trace_id}")
    app = await started(make_config(alert_doc(rule)))
    try:
        bad_traces = await send_outputs(app, [BAD, BAD])
        await judged(app, 2)
        assert not webhook.accepted(), "two scores are below min_count 3"
        bad_traces += await send_outputs(app, [BAD, GOOD])
        fired = (await asyncio.to_thread(webhook.wait_for, 1, "firing"))[0]
        resolved = (await asyncio.to_thread(webhook.wait_for, 1, "resolved"))[0]
    finally:
        await app.stop(grace=5)
    assert fired["condition"] == "failure_rate_above" and fired["window_s"] == 4.0
    assert 0.5 < fired["observed"] <= 1.0
    assert {e["trace_id"] for e in fired["examples"]} <= set(bad_traces)
    assert fired["link"] == f"http://jaeger:16686/trace/{fired['examples'][0]['trace_id']}"
    assert resolved["alert"] == "politeness-drop" and resolved["observed"] <= 0.5


async def test_errors_above_counts_unknown_scorer(make_config, webhook: WebhookReceiver,
                                                  receiver: OtlpTraceReceiver):
    rule = alert("scoring-broken", webhook, errors_above=1, window="30s")
    rule["scorer"] = "*"
    app = await started(make_config(alert_doc(rule)))
    try:
        await send_outputs(app, [GOOD], scorer="no_such_scorer")
        await judged(app, 1)
        await send_outputs(app, [GOOD])  # a score, not an error: never counts
        await send_outputs(app, [GOOD], scorer="no_such_scorer")
        fired = (await asyncio.to_thread(webhook.wait_for, 1, "firing"))[0]
    finally:
        await app.stop(grace=5)
    assert fired["observed"] == 2.0 and fired["threshold"] == 1.0 and fired["scorer"] == "*"


async def test_where_filter_limits_alert_to_matching_spans(make_config, webhook: WebhookReceiver):
    rule = alert("billing-rude", webhook, score_below=0.5, cooldown=0, where={"service.name": "billing"})
    app = await started(make_config(alert_doc(rule)))
    try:
        await send_outputs(app, [BAD], service="support-bot")
        await judged(app, 1)
        billing = await send_outputs(app, [BAD], service="billing")
        await asyncio.to_thread(webhook.wait_for, 1, "firing")
    finally:
        await app.stop(grace=5)
    sent = webhook.accepted()
    assert [body["examples"][0]["trace_id"] for body in sent] == billing  # the support-bot span never fired


async def test_webhook_retries_after_server_errors(make_config):
    with WebhookReceiver(fail_first=2) as flaky:
        app = await started(make_config(alert_doc(alert("rude", flaky, score_below=0.5))))
        try:
            await send_outputs(app, [BAD])
            await asyncio.to_thread(flaky.wait_for, 1, "firing")
        finally:
            await app.stop(grace=5)
    assert [p.status for p in flaky.posts] == [500, 500, 200]
    assert flaky.posts[0].body == flaky.posts[2].body


async def test_webhook_headers_resolve_environment(make_config, webhook: WebhookReceiver, monkeypatch):
    monkeypatch.setenv("ALERT_HOOK_TOKEN", "hook-secret")
    rule = alert("rude", webhook, score_below=0.5)
    rule["notify"]["webhook"]["headers"] = {"Authorization": "Bearer ${env:ALERT_HOOK_TOKEN}"}
    app = await started(make_config(alert_doc(rule)))
    try:
        await send_outputs(app, [BAD])
        await asyncio.to_thread(webhook.wait_for, 1, "firing")
    finally:
        await app.stop(grace=5)
    assert webhook.posts[0].headers["Authorization"] == "Bearer hook-secret"


async def test_hanging_webhook_does_not_hold_up_scored_spans(make_config, receiver: OtlpTraceReceiver):
    # Accepts connections (kernel backlog) but never answers: a delivery waits for its 30 s timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        rule = alert("rude", None, score_below=0.5, cooldown=0)
        rule["notify"] = {"webhook": {"url": f"http://127.0.0.1:{silent.getsockname()[1]}/", "timeout_s": 30}}
        app = await started(make_config(alert_doc(rule)))
        try:
            traces = await send_outputs(app, [BAD, BAD, BAD])
            await judged(app, 3)
            spans = await wait_for(receiver, lambda got: len(got) >= 3)
        finally:
            await app.stop(grace=1)
    assert sorted(s.trace_id for s in spans) == sorted(traces)
    assert {s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in spans} == {"scored"}
