"""The ``channels:`` section: each mistake is a ConfigError naming the field, secrets come only from the
environment and never appear in a message, and the policy keys have documented defaults."""

from __future__ import annotations

import textwrap

import pytest

from evaluator_service.alerts.channels import DeliveryPolicy
from evaluator_service.alerts.channels.pagerduty import PagerDutySettings
from evaluator_service.alerts.channels.webhook import WebhookSettings
from evaluator_service.config import load_config
from evaluator_service.config_values import ConfigError

from .channel_configs import channel_config

ENV = {"PD_KEY": "pd-secret-value-123", "EMPTY": "", "HOOK": "https://hooks.example.com/x/token-abc"}


@pytest.mark.parametrize(("entry", "message"), [
    ({}, "channels.c.type: required (one of: webhook, slack, pagerduty, opsgenie, email)"),
    ({"type": "teams"}, "channels.c.type: unknown channel type 'teams' (one of: webhook, slack, pagerduty, "
                        "opsgenie, email)"),
    ({"type": "webhook"}, "channels.c.url: required (an http:// or https:// URL)"),
    ({"type": "webhook", "url": "ftp://x"}, "channels.c.url: must be an http:// or https:// URL, got 'ftp://x'"),
    ({"type": "webhook", "url": "http://h/", "colour": 1}, "channels.c.colour: unknown key (allowed: "),
    ({"type": "webhook", "url": "http://h/", "secret": "abc"},
     "channels.c.secret: the HMAC signing secret is a secret and must come from the environment: write "
     "\"${env:NAME}\" or secret_env: NAME, not the value itself"),
    ({"type": "webhook", "url": "http://h/", "secret": "${env:UNSET_VAR}"},
     "channels.c.secret: environment variable UNSET_VAR is not set"),
    ({"type": "webhook", "url": "http://h/", "secret_env": "EMPTY"},
     "channels.c.secret_env: environment variable EMPTY is empty"),
    ({"type": "webhook", "url": "http://h/", "secret_env": "not a name"},
     "channels.c.secret_env: must name an environment variable, got 'not a name'"),
    ({"type": "webhook", "url": "http://h/", "secret": "${env:PD_KEY}", "secret_env": "PD_KEY"},
     "channels.c.secret: give either secret or secret_env, not both"),
    ({"type": "webhook", "url": "http://h/", "headers": {"X-Judgeval-Signature": "x"}},
     "channels.c.headers.X-Judgeval-Signature: set by the webhook channel itself; choose another header"),
    ({"type": "webhook", "url": "http://h/", "headers": {"Authorization": "${env:NOPE}"}},
     "channels.c.headers.Authorization: environment variable NOPE is not set"),
    ({"type": "slack", "url": "https://hooks.slack.com/services/T/B/literal"},
     "channels.c.url: the Slack incoming-webhook URL is a secret and must come from the environment"),
    ({"type": "slack"}, "channels.c.url: required (the Slack incoming-webhook URL; \"${env:NAME}\" or "
                        "url_env: NAME)"),
    ({"type": "pagerduty"}, "channels.c.routing_key: required (the Events API v2 integration key"),
    ({"type": "opsgenie", "api_key_env": "PD_KEY", "responders": [{"type": "crew", "name": "x"}]},
     "channels.c.responders[0]: needs type (team, user, escalation or schedule)"),
    ({"type": "opsgenie", "api_key_env": "PD_KEY", "tags": "urgent"},
     "channels.c.tags: must be a list of non-empty strings"),
    ({"type": "webhook", "url": "http://h/", "retry": {"attempts": 0}},
     "channels.c.retry.attempts: must be >= 1, got 0"),
    ({"type": "webhook", "url": "http://h/", "retry": {"initial_backoff": "10s", "max_backoff": "5s"}},
     "channels.c.retry.max_backoff: must be >= initial_backoff (10s), got 5s"),
    ({"type": "webhook", "url": "http://h/", "retry": {"backoff": "1s"}},
     "channels.c.retry.backoff: unknown key (allowed: attempts, initial_backoff, max_backoff)"),
    ({"type": "webhook", "url": "http://h/", "circuit_breaker": {"failures": 0}},
     "channels.c.circuit_breaker.failures: must be >= 1, got 0"),
    ({"type": "webhook", "url": "http://h/", "timeout": "soon"},
     "channels.c.timeout: expected a duration like 30s, 5m or 1h, got 'soon'"),
])
def test_mistakes_name_the_field(entry, message):
    with pytest.raises(ConfigError) as info:
        channel_config("c", entry, ENV)
    assert str(info.value).startswith(message), str(info.value)
    assert "pd-secret-value-123" not in str(info.value) and "token-abc" not in str(info.value)


@pytest.mark.parametrize("name", ["", "has space", "-leading", "x" * 64])
def test_channel_names_are_checked(name):
    with pytest.raises(ConfigError, match="a channel name is 1-63 letters"):
        channel_config(name, {"type": "webhook", "url": "http://h/"})


def test_a_url_from_the_environment_is_never_echoed():
    with pytest.raises(ConfigError) as info:
        channel_config("c", {"type": "webhook", "url": "${env:PD_KEY}"}, ENV)
    assert "pd-secret-value-123" not in str(info.value)


def test_both_spellings_of_a_secret_resolve_from_the_environment():
    by_reference = channel_config("p", {"type": "pagerduty", "routing_key": "${env:PD_KEY}"}, ENV)
    by_name = channel_config("p", {"type": "pagerduty", "routing_key_env": "PD_KEY"}, ENV)
    assert by_reference.settings == by_name.settings == PagerDutySettings(routing_key="pd-secret-value-123")
    assert "pd-secret-value-123" not in repr(by_reference)


def test_policy_defaults_and_overrides():
    default = channel_config("w", {"type": "webhook", "url": "${env:HOOK}"}, ENV)
    assert default.policy == DeliveryPolicy(timeout_s=10, attempts=4, initial_backoff_s=1, max_backoff_s=30,
                                            breaker_failures=5, breaker_cooldown_s=300)
    assert isinstance(default.settings, WebhookSettings) and default.settings.url == ENV["HOOK"]
    tuned = channel_config("w", {"type": "webhook", "url": "http://h/", "timeout": 3,
                                 "retry": {"attempts": 6, "initial_backoff": "500ms", "max_backoff": "1m"},
                                 "circuit_breaker": {"failures": 2, "cooldown": "10m"}})
    assert tuned.policy == DeliveryPolicy(timeout_s=3, attempts=6, initial_backoff_s=0.5, max_backoff_s=60,
                                          breaker_failures=2, breaker_cooldown_s=600)


def test_the_evaluator_config_file_holds_the_channels_section(tmp_path):
    path = tmp_path / "evaluator.yaml"
    path.write_text(textwrap.dedent("""
        channels:
          pager: {type: pagerduty, routing_key: "${env:PD_KEY}"}
          hook: {type: webhook, url: "http://127.0.0.1:9000/x", retry: {attempts: 2}}
    """))
    config = load_config(config_file=str(path), environ=ENV)
    assert sorted(config.channels) == ["hook", "pager"]
    assert config.channels["hook"].policy.attempts == 2 and config.channels["pager"].type == "pagerduty"
    path.write_text("channels:\n  pager: {type: pagerduty, routing_key: plain-text-key}\n")
    literal = r"^channels\.pager\.routing_key: .* must come from the environment"
    with pytest.raises(ConfigError, match=literal):
        load_config(config_file=str(path), environ=ENV)
    path.write_text("channels: [a, b]\n")
    with pytest.raises(ConfigError, match=r"^channels: must be a mapping"):
        load_config(config_file=str(path), environ=ENV)


def test_the_shipped_example_shows_the_real_defaults():
    from pathlib import Path

    path = Path(__file__).parents[3] / "evaluator_service" / "default_config.yaml"
    config = load_config(config_file=str(path), environ={})
    assert config.channels["ops-hook"].policy == DeliveryPolicy()
