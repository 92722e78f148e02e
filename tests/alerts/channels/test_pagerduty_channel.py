"""The PagerDuty channel against a real local Events API v2 receiver: the trigger field by field, and the
trigger / re-notify / resolve of one episode paired by one dedup key."""

from __future__ import annotations

from dataclasses import replace

from evaluator_service.alerts.channels import ChannelDelivery
from evaluator_service.alerts.notification import NotificationKind, Severity

from .channel_configs import channel_config, make_channel
from .http_receiver import Answer, HttpReceiver
from .notifications import ENGINE_LABELS, FIRING_SUMMARY, SPAN_ID, TRACE_ID, Attempts, notification, resolved

KEY = "R0UTINGKEY0123456789abcdef0123456"
ENV = {"PD_KEY": KEY}
ACCEPTED = Answer(202, '{"status":"success","message":"Event processed","dedup_key":"x"}')


def pager(receiver, client):
    return make_channel("pager", {"type": "pagerduty", "routing_key": "${env:PD_KEY}",
                                  "url": receiver.url("/v2/enqueue")}, client, ENV)


async def test_a_trigger_carries_the_documented_fields(client):
    async with HttpReceiver([ACCEPTED]) as receiver:
        attempt = await pager(receiver, client).send(notification(labels=ENGINE_LABELS))
    assert attempt.ok and attempt.status_code == 202
    [request] = receiver.requests
    assert request.path == "/v2/enqueue" and request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "routing_key": KEY, "event_action": "trigger", "dedup_key": "politeness-drop/1796000000",
        "payload": {
            "summary": FIRING_SUMMARY,
            "source": "support-bot", "severity": "critical", "timestamp": "2026-11-30T00:53:20.250000+00:00",
            "class": "firing", "component": "Politeness", "group": "triage",
            "custom_details": {
                "alert": "politeness-drop", "kind": "firing", "state": "firing", "previous_state": "pending",
                "condition": "failure rate above 20% over 5m (at least 20 results)", "reason": None,
                "observed": 0.35,
                "threshold": 0.2,
                "labels": ENGINE_LABELS,
                "details": {"window_s": 300.0, "failures": 7, "total": 20}, "event_id": "evt-7f3a9c01",
                "examples": [
                    {"trace_id": TRACE_ID, "span_id": SPAN_ID, "service_name": "support-bot",
                     "reason": "rude <reply> & curt", "link": f"http://jaeger:16686/trace/{TRACE_ID}"},
                    {"trace_id": "a" * 32, "span_id": "b" * 16, "service_name": "support-bot", "reason": None,
                     "link": None}],
            },
        },
        "client": "judgeval", "client_url": "http://console:8080/alerts/x",
        "links": [{"href": "http://console:8080/behaviors/b-12", "text": "issue"},
                  {"href": "http://console:8080/alerts/x", "text": "console"},
                  {"href": f"http://jaeger:16686/trace/{TRACE_ID}", "text": f"trace {TRACE_ID}"}],
    }


async def test_trigger_renotify_and_resolve_share_one_dedup_key(client):
    firing = notification()
    renotify = replace(firing, event_id="evt-2", kind=NotificationKind.RENOTIFY, severity=Severity.WARNING)
    async with HttpReceiver([ACCEPTED] * 3) as receiver:
        channel, engine = pager(receiver, client), ChannelDelivery()
        for n in (firing, renotify, resolved(firing)):
            assert await engine.deliver(n, channel, Attempts().record)
    trigger, again, resolve = (r.json() for r in receiver.requests)
    assert [trigger["event_action"], again["event_action"], resolve["event_action"]] == [
        "trigger", "trigger", "resolve"]
    episode = "politeness-drop/1796000000"
    assert trigger["dedup_key"] == again["dedup_key"] == resolve["dedup_key"] == episode
    assert again["payload"]["severity"] == "warning" and again["payload"]["class"] == "renotify"
    assert resolve == {"routing_key": KEY, "event_action": "resolve", "dedup_key": episode}


async def test_the_configured_source_is_used_without_a_service_label(client):
    async with HttpReceiver([ACCEPTED]) as receiver:
        channel = make_channel("pager", {"type": "pagerduty", "routing_key_env": "PD_KEY", "source": "eval-1",
                                         "url": receiver.url("/v2/enqueue")}, client, ENV)
        assert (await channel.send(notification(labels={}, links={}, severity=Severity.INFO))).ok
    payload = receiver.requests[0].json()["payload"]
    assert payload["source"] == "eval-1" and payload["severity"] == "info"
    assert "component" not in payload and "group" not in payload
    assert "client_url" not in receiver.requests[0].json()


async def test_a_rejected_key_is_not_retried_and_never_shown(client):
    echo = f'{{"status":"invalid event","message":"Event object is invalid","errors":["bad key {KEY}"]}}'
    async with HttpReceiver([Answer(400, echo)]) as receiver:
        attempts = Attempts()
        assert not await ChannelDelivery().deliver(notification(), pager(receiver, client), attempts.record)
    [attempt] = attempts
    assert attempt.target == "pagerduty:pager" and not attempt.retryable
    assert KEY not in attempt.detail and "bad key ***" in attempt.detail
    config = channel_config("pager", {"type": "pagerduty", "routing_key": "${env:PD_KEY}"}, ENV)
    assert KEY not in repr(config)


def test_the_default_url_is_the_events_api():
    config = channel_config("pager", {"type": "pagerduty", "routing_key": "${env:PD_KEY}"}, ENV)
    assert config.settings.url == "https://events.pagerduty.com/v2/enqueue"  # type: ignore[union-attr]


async def test_a_long_dedup_key_is_shortened_the_same_way_for_trigger_and_resolve(client):
    long = notification(dedup_key="k" * 400)
    async with HttpReceiver([ACCEPTED, ACCEPTED]) as receiver:
        channel = pager(receiver, client)
        assert (await channel.send(long)).ok and (await channel.send(resolved(long))).ok
    trigger, resolve = (r.json()["dedup_key"] for r in receiver.requests)
    assert trigger == resolve and len(trigger) == 255 and trigger.startswith("k" * 238 + "~")
    other = notification(dedup_key="k" * 399 + "j")
    from evaluator_service.alerts.channels.pagerduty import dedup_key

    assert dedup_key(other.dedup_key) != trigger
