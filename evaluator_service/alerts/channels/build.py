"""Turn the parsed ``channels:`` section into live :class:`Channel` objects sharing one HTTP client."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from evaluator_service.alerts.channels.config import ChannelConfig
from evaluator_service.alerts.channels.opsgenie import OpsgenieChannel, OpsgenieSettings
from evaluator_service.alerts.channels.pagerduty import PagerDutyChannel, PagerDutySettings
from evaluator_service.alerts.channels.slack import SlackChannel, SlackSettings
from evaluator_service.alerts.channels.smtp import EmailChannel, EmailSettings
from evaluator_service.alerts.channels.webhook import WebhookChannel, WebhookSettings
from evaluator_service.alerts.notification import Channel

USER_AGENT = "judgeval-evaluator"


def http_client() -> aiohttp.ClientSession:
    """The session the HTTP channels share; create it in the running event loop, ``await close()`` it at
    shutdown. Each POST refuses redirects: one would re-send the signed body, or a secret, to another host."""
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})


def build_channel(config: ChannelConfig, client: aiohttp.ClientSession) -> Channel:
    """The channel ``config`` describes."""
    s, name, policy = config.settings, config.name, config.policy
    if isinstance(s, WebhookSettings):
        return WebhookChannel(name, s, policy, client)
    if isinstance(s, SlackSettings):
        return SlackChannel(name, s, policy, client)
    if isinstance(s, PagerDutySettings):
        return PagerDutyChannel(name, s, policy, client)
    if isinstance(s, OpsgenieSettings):
        return OpsgenieChannel(name, s, policy, client)
    assert isinstance(s, EmailSettings)
    return EmailChannel(name, s, policy)


def build_channels(configs: Mapping[str, ChannelConfig], client: aiohttp.ClientSession) -> dict[str, Channel]:
    """Config name → channel, for every entry of ``channels:``."""
    return {name: build_channel(config, client) for name, config in configs.items()}
