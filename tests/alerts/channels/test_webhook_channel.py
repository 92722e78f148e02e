"""The generic webhook: its documented JSON body field by field, the HMAC signature checked with the recipe
in the README, the event id stable across retries, custom headers, and no secret anywhere it is shown."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import pytest

from evaluator_service.alerts.channels import ChannelDelivery, DeliveryPolicy
from evaluator_service.alerts.channels.webhook import WebhookChannel, WebhookSettings

from .channel_configs import channel_config, make_channel
from .http_receiver import Answer, HttpReceiver
from .notifications import AT, FIRING_SUMMARY, SPAN_ID, TRACE_ID, Attempts, notification

README = Path(__file__).parents[3] / "evaluator_service" / "README.md"
SECRET = "whsec-2f1e0d9c8b7a"
ENV = {"HOOK_SECRET": SECRET, "HOOK_TOKEN": "tok-91b2"}


def documented_verify() -> Any:
    """The ``verify`` function of the README's "Verifying webhook signatures" snippet, executed as written."""
    text = README.read_text()
    section = text[text.index("### Verifying webhook signatures"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert snippet is not None
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)
    return namespace["verify"]


async def test_the_body_is_every_field_of_the_notification(client):
    async with HttpReceiver() as receiver:
        hook = make_channel("ops", {"type": "webhook", "url": receiver.url("/hooks/judgeval")}, client)
        attempt = await hook.send(notification())
    assert attempt.ok and attempt.status_code == 200 and attempt.detail == "HTTP 200"
    request = receiver.requests[0]
    assert (request.method, request.path) == ("POST", "/hooks/judgeval")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "judgeval-evaluator"
    body = request.json()
    assert body == {
        "version": 1, "event_id": "evt-7f3a9c01", "dedup_key": "politeness-drop/1796000000", "kind": "firing",
        "alert": "politeness-drop", "severity": "critical", "state": "firing", "previous_state": "pending",
        "summary": FIRING_SUMMARY,
        "condition": "failure rate above 20% over 5m (at least 20 results)", "reason": None,
        "at": "2026-11-30T00:53:20.250000+00:00", "at_unix": AT, "observed": 0.35, "threshold": 0.2,
        "unit": "%",
        "labels": {"scorer": "Politeness", "service": "support-bot", "agent": "triage"},
        "examples": [
            {"trace_id": TRACE_ID, "span_id": SPAN_ID, "service_name": "support-bot",
             "reason": "rude <reply> & curt", "link": f"http://jaeger:16686/trace/{TRACE_ID}"},
            {"trace_id": "a" * 32, "span_id": "b" * 16, "service_name": "support-bot", "reason": None,
             "link": None},
        ],
        "links": {"issue": "http://console:8080/behaviors/b-12", "console": "http://console:8080/alerts/x"},
        "details": {"window_s": 300.0, "failures": 7, "total": 20},
    }
    assert "X-Judgeval-Signature" not in request.headers  # no secret configured, no signature


async def test_the_documented_recipe_verifies_the_signature_and_refuses_tampering(client):
    verify = documented_verify()
    async with HttpReceiver() as receiver:
        hook = make_channel("ops", {"type": "webhook", "url": receiver.url(), "secret": "${env:HOOK_SECRET}"},
                            client, ENV)
        assert (await hook.send(notification())).ok
    request = receiver.requests[0]
    timestamp, signature = request.headers["X-Judgeval-Timestamp"], request.headers["X-Judgeval-Signature"]
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert abs(int(timestamp) - time.time()) < 60
    assert verify(SECRET.encode(), request.body, timestamp, signature)
    assert not verify(b"another-secret", request.body, timestamp, signature)
    assert not verify(SECRET.encode(), request.body.replace(b"0.35", b"0.05"), timestamp, signature)
    # a replay with a fresh timestamp header does not match the signed one
    assert not verify(SECRET.encode(), request.body, str(int(time.time()) + 1), signature)


async def test_an_old_request_is_refused_by_the_recipe(client):
    verify = documented_verify()
    async with HttpReceiver() as receiver:
        entry = {"type": "webhook", "url": receiver.url(), "secret_env": "HOOK_SECRET"}
        config = channel_config("ops", entry, ENV)
        assert isinstance(config.settings, WebhookSettings) and config.settings.secret == SECRET
        hook = WebhookChannel("ops", config.settings, config.policy, client,
                              wall_clock=lambda: time.time() - 3600)
        assert (await hook.send(notification())).ok
    request = receiver.requests[0]
    args = (request.body, request.headers["X-Judgeval-Timestamp"], request.headers["X-Judgeval-Signature"])
    assert not verify(SECRET.encode(), *args)
    assert verify(SECRET.encode(), *args, tolerance_s=7200)


async def test_the_event_id_is_the_same_on_every_retry(client):
    async with HttpReceiver([Answer(503), Answer(500), Answer(200)]) as receiver:
        hook = make_channel("ops", {"type": "webhook", "url": receiver.url(), "secret": "${env:HOOK_SECRET}",
                                    "retry": {"attempts": 5, "initial_backoff": 0}}, client, ENV)
        attempts = Attempts()
        assert await ChannelDelivery().deliver(notification(), hook, attempts.record)
    assert [a.status_code for a in attempts] == [503, 500, 200]
    ids = {r.headers["X-Judgeval-Event-Id"] for r in receiver.requests}
    assert ids == {"evt-7f3a9c01"}
    verify = documented_verify()
    assert all(verify(SECRET.encode(), r.body, r.headers["X-Judgeval-Timestamp"],
                      r.headers["X-Judgeval-Signature"]) for r in receiver.requests)


async def test_custom_headers_are_sent_with_their_environment_values(client):
    async with HttpReceiver() as receiver:
        hook = make_channel("ops", {"type": "webhook", "url": receiver.url(),
                                    "headers": {"Authorization": "Bearer ${env:HOOK_TOKEN}", "X-Team": "ml"}},
                            client, ENV)
        assert (await hook.send(notification())).ok
    headers = receiver.requests[0].headers
    assert headers["Authorization"] == "Bearer tok-91b2"
    assert headers["X-Team"] == "ml"


async def test_values_json_cannot_hold_do_not_fail_the_notification(client):
    odd = notification(observed=math.nan, details={"seen": {3}, "ratio": math.inf, "when": time})
    async with HttpReceiver() as receiver:
        hook = make_channel("ops", {"type": "webhook", "url": receiver.url()}, client)
        assert (await hook.send(odd)).ok
    body = receiver.requests[0].json()
    assert body["observed"] is None
    assert body["details"]["ratio"] is None
    assert body["details"]["seen"] == "{3}"
    assert body["details"]["when"].startswith("<module 'time'")


async def test_no_secret_in_the_target_detail_or_logs(client, caplog):
    token_url = "/services/T000/B000/url-token-5c4d"
    echo = f"bad token tok-91b2 for {token_url} signed with {SECRET}"
    async with HttpReceiver([Answer(403, echo)]) as receiver:
        hook = make_channel("ops", {"type": "webhook", "url": receiver.url(token_url),
                                    "secret": "${env:HOOK_SECRET}",
                                    "headers": {"Authorization": "Bearer ${env:HOOK_TOKEN}"}}, client, ENV)
        attempts = Attempts()
        assert not await ChannelDelivery().deliver(notification(), hook, attempts.record)
    [attempt] = attempts  # 403 is not retried
    assert attempt.target == "webhook:ops" and attempt.status_code == 403 and not attempt.retryable
    assert attempt.detail.startswith("HTTP 403: bad token ***")
    config = channel_config("ops", {"type": "webhook", "url": receiver.url(token_url),
                                    "secret": "${env:HOOK_SECRET}"}, ENV)
    shown = " ".join([attempt.target, attempt.detail, hook.destination, repr(config), caplog.text])
    for secret in (SECRET, "tok-91b2"):
        assert secret not in shown
    assert hook.destination == f"http://127.0.0.1:{receiver.port}/..."  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [400, 401, 404, 410])
async def test_a_refusal_is_not_retried(client, status):
    async with HttpReceiver([Answer(status, "no")]) as receiver:
        entry = {"type": "webhook", "url": receiver.url(), "retry": {"attempts": 3}}
        hook = make_channel("ops", entry, client)
        attempts = Attempts()
        assert not await ChannelDelivery().deliver(notification(), hook, attempts.record)
    assert len(receiver.requests) == 1 and [a.retryable for a in attempts] == [False]


def test_policy_backoff_doubles_up_to_the_cap():
    policy = DeliveryPolicy(initial_backoff_s=1, max_backoff_s=5)
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
