"""Channels built the way the evaluator builds them: from a ``channels:`` YAML mapping and an environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from evaluator_service.alerts.channels import ChannelConfig, build_channel, parse_channels
from evaluator_service.alerts.notification import Channel
from evaluator_service.config_values import Section

FAST = {"timeout": "2s", "retry": {"attempts": 1}}
"""One try, short timeout: payload tests look at exactly one request."""


def channel_config(name: str, entry: dict[str, Any], environ: Mapping[str, str] | None = None
                   ) -> ChannelConfig:
    return parse_channels(Section({name: entry}, "channels"), environ or {})[name]


def make_channel(name: str, entry: dict[str, Any], client: aiohttp.ClientSession,
                 environ: Mapping[str, str] | None = None) -> Channel:
    return build_channel(channel_config(name, {**FAST, **entry}, environ), client)
