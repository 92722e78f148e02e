"""The Opsgenie channel against a real local receiver: create with alias = dedup key, close by alias."""

from __future__ import annotations

from evaluator_service.alerts.channels import ChannelDelivery
from evaluator_service.alerts.notification import Severity

from .channel_configs import channel_config, make_channel
from .http_receiver import Answer, HttpReceiver
from .notifications import (
    ENGINE_LABELS,
    FIRING_SUMMARY,
    RESOLVED_SUMMARY,
    TRACE_ID,
    Attempts,
    notification,
    resolved,
)

KEY = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
ENV = {"GENIE_KEY": KEY}
ACCEPTED = Answer(202, '{"result":"Request will be processed","took":0.01,"requestId":"r-1"}')


def genie(receiver, client, **extra):
    return make_channel("genie", {"type": "opsgenie", "api_key": "${env:GENIE_KEY}", "url": receiver.url(),
                                  **extra}, client, ENV)


async def test_a_create_carries_the_documented_fields(client):
    async with HttpReceiver([ACCEPTED]) as receiver:
        channel = genie(receiver, client, tags=["ai-agents"], responders=[{"type": "team", "name": "ml"}])
        attempt = await channel.send(notification(labels=ENGINE_LABELS))
    assert attempt.ok and attempt.status_code == 202 and attempt.target == "opsgenie:genie"
    [request] = receiver.requests
    assert (request.method, request.path, request.query) == ("POST", "/v2/alerts", {})
    assert request.headers["Authorization"] == f"GenieKey {KEY}"
    body = request.json()
    assert body.pop("description") == "\n".join([
        FIRING_SUMMARY, "",
        "Condition: failure rate above 20% over 5m (at least 20 results)",
        "Observed: 35%  Threshold: 20%",
        "State: firing (was pending), severity critical",
        "issue: http://console:8080/behaviors/b-12",
        "console: http://console:8080/alerts/x",
        f"Trace {TRACE_ID}: http://jaeger:16686/trace/{TRACE_ID} rude <reply> & curt",
        f"Trace {'a' * 32}:",
    ])
    assert body == {
        "message": FIRING_SUMMARY,
        "alias": "politeness-drop/1796000000", "priority": "P1", "source": "judgeval-evaluator",
        "entity": "support-bot", "tags": ["ai-agents", "alert:politeness-drop", "critical", "firing"],
        "responders": [{"type": "team", "name": "ml"}],
        "details": {
            "label.alert": "politeness-drop", "label.scorer": "Politeness",
            "label.service.name": "support-bot", "label.gen_ai.agent.name": "triage",
            "label.severity": "critical",
            "alert": "politeness-drop", "kind": "firing", "state": "firing",
            "condition": "failure rate above 20% over 5m (at least 20 results)", "observed": "0.35",
            "threshold": "0.2", "event_id": "evt-7f3a9c01", "at": "2026-11-30T00:53:20.250000+00:00",
            "link.issue": "http://console:8080/behaviors/b-12", "link.console": "http://console:8080/alerts/x",
            "trace.1": f"http://jaeger:16686/trace/{TRACE_ID}", "trace.2": "a" * 32,
        },
    }


async def test_resolved_closes_the_alert_by_its_alias(client):
    firing = notification(severity=Severity.WARNING)
    async with HttpReceiver([ACCEPTED, ACCEPTED]) as receiver:
        channel, engine = genie(receiver, client), ChannelDelivery()
        assert await engine.deliver(firing, channel, Attempts().record)
        assert await engine.deliver(resolved(firing), channel, Attempts().record)
    create, close = receiver.requests
    assert create.json()["alias"] == "politeness-drop/1796000000" and create.json()["priority"] == "P3"
    # the alias is one path segment: its "/" is percent-encoded
    assert close.raw_path == "/v2/alerts/politeness-drop%2F1796000000/close?identifierType=alias"
    assert close.query == {"identifierType": "alias"}
    assert close.headers["Authorization"] == f"GenieKey {KEY}"
    assert close.json() == {"source": "judgeval-evaluator",
                            "note": RESOLVED_SUMMARY}


async def test_the_message_is_cut_to_130_characters(client):
    async with HttpReceiver([ACCEPTED]) as receiver:
        assert (await genie(receiver, client).send(notification(summary="x" * 500))).ok
    message = receiver.requests[0].json()["message"]
    assert len(message) == 130 and message.endswith("…")


async def test_a_bad_key_is_not_retried_and_never_shown(client):
    async with HttpReceiver([Answer(401, f'{{"message":"Key {KEY} is invalid"}}')]) as receiver:
        attempts = Attempts()
        assert not await ChannelDelivery().deliver(notification(), genie(receiver, client), attempts.record)
    [attempt] = attempts
    assert not attempt.retryable and KEY not in attempt.detail and attempt.detail.startswith("HTTP 401")
    assert KEY not in repr(channel_config("genie", {"type": "opsgenie", "api_key": "${env:GENIE_KEY}"}, ENV))
