"""The Slack channel: an incoming webhook, one Block Kit message per notification.

::

    oncall-slack:
      type: slack
      url: "${env:SLACK_WEBHOOK_URL}"      # the webhook URL is the credential: from the environment only

The message says what (header: state and alert name; the summary), how bad (severity, observed vs
threshold, the condition), where (labels), and links: up to 5 failing traces (Jaeger/Tempo links built by the
engine) and a button per named link (issue, console). A resolved alert's message says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from evaluator_service.alerts.channels.env_refs import read_secret, secret_keys
from evaluator_service.alerts.channels.http_post import post, shown_url
from evaluator_service.alerts.channels.policy import DeliveryPolicy
from evaluator_service.alerts.notification import (
    AlertNotification,
    DeliveryAttempt,
    NotificationKind,
    Severity,
)
from evaluator_service.config_values import ConfigError, Section

SLACK_KEYS = secret_keys("url")
MAX_EXAMPLES = 5
_HEADER_MAX = 150
_TEXT_MAX = 3000
_BUTTON_TEXT_MAX = 75
_TITLES = {NotificationKind.FIRING: "FIRING", NotificationKind.RENOTIFY: "STILL FIRING",
           NotificationKind.RESOLVED: "RESOLVED", NotificationKind.NO_DATA: "NO DATA",
           NotificationKind.BEHAVIOR: "BEHAVIOR", NotificationKind.TEST: "TEST"}
_SEVERITY_ICONS = {Severity.CRITICAL: ":red_circle:", Severity.WARNING: ":large_orange_circle:",
                   Severity.INFO: ":large_blue_circle:"}


@dataclass(frozen=True)
class SlackSettings:
    url: str = field(repr=False)


def parse_slack(s: Section, environ: Mapping[str, str]) -> SlackSettings:
    url = read_secret(s, "url", environ, required=True, what="the Slack incoming-webhook URL")
    assert url is not None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{s.where('url')}: the environment variable must hold an http(s):// URL")
    return SlackSettings(url=url)


def escape(text: str) -> str:
    """Slack mrkdwn escaping: ``&``, ``<`` and ``>`` are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def title(n: AlertNotification) -> str:
    icon = ":white_check_mark:" if n.kind is NotificationKind.RESOLVED else _SEVERITY_ICONS[n.severity]
    return f"{icon} {_TITLES[n.kind]}: {n.alert}"


def slack_message(n: AlertNotification) -> dict[str, Any]:
    """The webhook body: ``text`` (the notification's fallback line) and ``blocks``."""
    resolved = n.kind is NotificationKind.RESOLVED
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title(n), _HEADER_MAX)}},
        _section(("*Resolved:* " if resolved else "") + escape(n.summary)),
        {"type": "section", "fields": [
            _mrkdwn(f"*Severity*\n{n.severity.value}"),
            _mrkdwn(f"*State*\n{escape(n.state)} (was {escape(n.previous_state)})"),
            _mrkdwn(f"*Observed*\n{_number(n.observed)}"),
            _mrkdwn(f"*Threshold*\n{_number(n.threshold)}"),
        ]},
        _section(f"*Condition*\n{escape(n.condition)}"),
    ]
    if n.labels:
        labels = [_mrkdwn(f"*{escape(k)}:* {escape(v)}") for k, v in sorted(n.labels.items())][:10]
        blocks.append({"type": "context", "elements": labels})
    if n.examples:
        lines = [_example_line(e.trace_id, e.service_name, e.reason, e.link)
                 for e in n.examples[:MAX_EXAMPLES]]
        heading = "*Traces that contributed*" if resolved else "*Failing traces*"
        blocks.append(_section(heading + "\n" + "\n".join(lines)))
    buttons = _buttons(n)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": f"{title(n)} — {n.summary}", "blocks": blocks}


def _example_line(trace_id: str, service: str, reason: str | None, link: str | None) -> str:
    shown = f"<{link}|trace {trace_id[:16]}>" if link else f"trace `{trace_id}`"
    where = f" ({escape(service)})" if service else ""
    why = f" — {escape(_cut(reason, 200))}" if reason else ""
    return f"• {shown}{where}{why}"


def _buttons(n: AlertNotification) -> list[dict[str, Any]]:
    links = dict(n.links)
    first_trace = next((e.link for e in n.examples if e.link), None)
    if first_trace:
        links.setdefault("trace", first_trace)
    return [{"type": "button", "text": {"type": "plain_text", "text": _cut(f"Open {name}", _BUTTON_TEXT_MAX)},
             "url": url}
            for name, url in links.items() if url.startswith(("http://", "https://"))][:25]


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(text, 2000)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, _TEXT_MAX)}}


class SlackChannel:
    """POSTs :func:`slack_message` to the incoming webhook."""

    def __init__(self, name: str, settings: SlackSettings, policy: DeliveryPolicy,
                 client: aiohttp.ClientSession) -> None:
        self.name = f"slack:{name}"
        self.destination = shown_url(settings.url)
        self.policy = policy
        self._settings = settings
        self._client = client

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        body = json.dumps(slack_message(notification), ensure_ascii=False).encode()
        return await post(self._client, self.name, self._settings.url, content=body,
                          headers={"Content-Type": "application/json"}, timeout_s=self.policy.timeout_s,
                          secrets=(self._settings.url, urlsplit(self._settings.url).path))
