"""The ``channels:`` section of the evaluator config: named notification targets that alerts refer to.

::

    channels:
      oncall-slack: {type: slack, url: "${env:SLACK_WEBHOOK_URL}"}
      pager:
        type: pagerduty
        routing_key: "${env:PAGERDUTY_ROUTING_KEY}"
        retry: {attempts: 5, initial_backoff: 2s}
        circuit_breaker: {failures: 5, cooldown: 5m}

Each type's keys are parsed by its own module; every channel also takes the delivery keys of
:mod:`~evaluator_service.alerts.channels.policy`. Secrets come only from the environment
(:mod:`~evaluator_service.alerts.channels.env_refs`). Every mistake raises :class:`ConfigError` naming the
field (``channels.pager.routing_key: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from evaluator_service.alerts.channels.opsgenie import OPSGENIE_KEYS, OpsgenieSettings, parse_opsgenie
from evaluator_service.alerts.channels.pagerduty import PAGERDUTY_KEYS, PagerDutySettings, parse_pagerduty
from evaluator_service.alerts.channels.policy import POLICY_KEYS, DeliveryPolicy, parse_policy
from evaluator_service.alerts.channels.slack import SLACK_KEYS, SlackSettings, parse_slack
from evaluator_service.alerts.channels.smtp import EMAIL_KEYS, EmailSettings, parse_email
from evaluator_service.alerts.channels.webhook import WEBHOOK_KEYS, WebhookSettings, parse_webhook
from evaluator_service.config_values import ConfigError, Section

ChannelSettings = WebhookSettings | SlackSettings | PagerDutySettings | OpsgenieSettings | EmailSettings
_Parser = Callable[[Section, Mapping[str, str]], Any]
CHANNEL_TYPES: dict[str, tuple[frozenset[str], _Parser]] = {
    "webhook": (WEBHOOK_KEYS, parse_webhook),
    "slack": (SLACK_KEYS, parse_slack),
    "pagerduty": (PAGERDUTY_KEYS, parse_pagerduty),
    "opsgenie": (OPSGENIE_KEYS, parse_opsgenie),
    "email": (EMAIL_KEYS, parse_email),
}
"""``type`` value → (its keys, its parser)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class ChannelConfig:
    """One entry of ``channels:``; ``settings`` hold resolved secrets (hidden from ``repr``)."""

    name: str
    type: str
    settings: ChannelSettings
    policy: DeliveryPolicy


def parse_channels(s: Section, environ: Mapping[str, str]) -> dict[str, ChannelConfig]:
    """Validate every entry of the ``channels:`` mapping (``s``; empty when the section is absent)."""
    channels: dict[str, ChannelConfig] = {}
    for name in s.data:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{s.where(str(name))}: a channel name is 1-63 letters, digits, '_', '.' or "
                              "'-', starting with a letter or digit")
        channels[name] = _parse_channel(name, s.section(name), environ)
    return channels


def _parse_channel(name: str, s: Section, environ: Mapping[str, str]) -> ChannelConfig:
    kind = s.req_str("type", f"required (one of: {', '.join(CHANNEL_TYPES)})")
    if kind not in CHANNEL_TYPES:
        raise ConfigError(f"{s.where('type')}: unknown channel type {kind!r} "
                          f"(one of: {', '.join(CHANNEL_TYPES)})")
    keys, parse = CHANNEL_TYPES[kind]
    s.reject_unknown(keys | POLICY_KEYS | {"type"})
    return ChannelConfig(name=name, type=kind, settings=parse(s, environ), policy=parse_policy(s))
