"""No secret is ever shown: not in a delivery attempt, a log line (circuit transitions included), a channel's
shown name or destination, nor a config's repr, even when the receiver repeats the whole request back."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from evaluator_service.alerts.channels import ChannelDelivery

from .channel_configs import channel_config, make_channel
from .http_receiver import Answer, HttpReceiver
from .notifications import Attempts, notification

SECRETS = {"HOOK_SECRET": "hmac-secret-0a1b2c", "HOOK_TOKEN": "bearer-token-3d4e5f",
           "PD_KEY": "pd-routing-key-6a7b8c", "GENIE_KEY": "genie-key-9d0e1f"}


def entries(url: str) -> dict[str, dict[str, Any]]:
    return {
        "webhook": {"type": "webhook", "url": url + "/hooks/path-token-42aa", "secret": "${env:HOOK_SECRET}",
                    "headers": {"Authorization": "Bearer ${env:HOOK_TOKEN}"}},
        "slack": {"type": "slack", "url_env": "SLACK_URL"},
        "pagerduty": {"type": "pagerduty", "routing_key": "${env:PD_KEY}", "url": url + "/v2/enqueue"},
        "opsgenie": {"type": "opsgenie", "api_key_env": "GENIE_KEY", "url": url},
    }


@pytest.mark.parametrize("kind", ["webhook", "slack", "pagerduty", "opsgenie"])
async def test_an_echoing_receiver_cannot_make_a_channel_show_a_secret(client, caplog, kind):
    echo = Answer(500, echo=True)
    async with HttpReceiver([echo, echo, echo]) as receiver:
        slack_url = receiver.url("/services/T0/B0/slack-url-token-77bb")
        environ = {**SECRETS, "SLACK_URL": slack_url}
        entry = {**entries(receiver.url())[kind], "retry": {"attempts": 2, "initial_backoff": 0},
                 "circuit_breaker": {"failures": 2, "cooldown": "1m"}}
        channel = make_channel("target", entry, client, environ)
        attempts, engine = Attempts(), ChannelDelivery()
        with caplog.at_level(logging.DEBUG):
            assert not await engine.deliver(notification(), channel, attempts.record)
            assert not await engine.deliver(notification(), channel, attempts.record)  # circuit open
    assert len(receiver.requests) == 2 and [a.detail[:10] for a in attempts] == [
        "HTTP 500: ", "HTTP 500: ", "not sent: "]
    # everything the evaluator logged (the receiver's own access log is the receiver's business)
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp.access"))
    assert "circuit open" in logged
    shown = " ".join([*(f"{a.target} {a.detail}" for a in attempts), logged, channel.name,
                      channel.destination, repr(channel_config("target", entry, environ))])  # type: ignore[attr-defined]
    for secret in [*SECRETS.values(), "slack-url-token-77bb", "path-token-42aa"]:
        assert secret not in shown, secret
    # the echo did reach the detail (so the check above looked at real receiver text)
    assert "***" in attempts[0].detail
