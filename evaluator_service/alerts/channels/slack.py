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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from evaluator_service.alerts.channels.env_refs import read_secret, secret_keys
from evaluator_service.alerts.channels.http_post import post, shown_url
from evaluator_service.alerts.channels.policy import DeliveryPolicy
from evaluator_service.alerts.notification import (
    AlertNotification,
    DeliveryAttempt,
    NotificationKind,
    Severity,
    shown_value,
)
from evaluator_service.config_values import ConfigError, Section

SLACK_KEYS = secret_keys("url")
MAX_EXAMPLES = 5
_HEADER_MAX = 150
_TEXT_MAX = 3000
_BUTTON_TEXT_MAX = 75
_BUTTON_URL_MAX = 3000
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # RFC 3986 reserved characters and "%": what a valid URL may already hold
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
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


def valid_url(url: str) -> str:
    """``url`` with every character a URL may not hold percent-encoded (``|``, ``<``, ``>``, ``"``, spaces,
    line breaks, non-ASCII, ...); reserved characters and existing ``%XX`` escapes are kept, so a valid URL
    is returned unchanged. A button's ``url`` must be valid, or Slack refuses the whole message."""
    return quote(url, safe=_URL_SAFE)


def link(url: str, text: str) -> str:
    """The mrkdwn link ``<url|text>``: ``|`` and ``>`` would end the URL early and ``>`` the text, so the URL
    is percent-encoded (:func:`valid_url`) and then entity-escaped (its ``&``), the text entity-escaped."""
    return f"<{escape(valid_url(url))}|{escape(text)}>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_mrkdwn(text: str, limit: int) -> str:
    """:func:`_cut` for escaped mrkdwn: never leaves half an entity (``&am…``) behind."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def title(n: AlertNotification) -> str:
    return f"{_icon(n)} {_TITLES[n.kind]}: {n.alert}"


def _icon(n: AlertNotification) -> str:
    return ":white_check_mark:" if n.kind is NotificationKind.RESOLVED else _SEVERITY_ICONS[n.severity]


def slack_message(n: AlertNotification) -> dict[str, Any]:
    """The webhook body: ``text`` (the notification's fallback line) and ``blocks``."""
    resolved = n.kind is NotificationKind.RESOLVED
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title(n), _HEADER_MAX)}},
        _section(escape(n.summary)),
        {"type": "section", "fields": [
            _mrkdwn(f"*Severity*\n{n.severity.value}"),
            _mrkdwn(f"*State*\n{escape(n.state)} (was {escape(n.previous_state)})"),
            _mrkdwn(f"*Observed*\n{shown_value(n.observed, n.unit) or 'n/a'}"),
            _mrkdwn(f"*Threshold*\n{shown_value(n.threshold, n.unit) or 'n/a'}"),
        ]},
        _section(f"*Condition*\n{escape(n.condition)}"),
    ]
    if n.labels:
        labels = [_mrkdwn(f"*{escape(k)}:* {escape(v)}") for k, v in sorted(n.labels.items())][:10]
        blocks.append({"type": "context", "elements": labels})
    if n.examples:
        heading = "*Traces that contributed*" if resolved else "*Failing traces*"
        lines = [_example_line(e.trace_id, e.service_name, e.reason, e.link)
                 for e in n.examples[:MAX_EXAMPLES]]
        blocks.append(_section(_whole_lines(heading, lines, _TEXT_MAX)))
    buttons = _buttons(n)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": f"{_icon(n)} {n.summary}", "blocks": blocks}


def _example_line(trace_id: str, service: str, reason: str | None, url: str | None) -> str:
    shown = link(url, f"trace {trace_id[:16]}") if url else f"trace `{escape(trace_id)}`"
    where = f" ({escape(service)})" if service else ""
    why = f" — {escape(_cut(reason, 200))}" if reason else ""
    return f"• {shown}{where}{why}"


def _whole_lines(heading: str, lines: list[str], limit: int) -> str:
    """``heading`` and as many of ``lines`` as fit in ``limit``: a line cut inside its ``<url|text>`` would
    show the raw markup, so a line that does not fit is left out whole."""
    text = heading
    for line in lines:
        if len(text) + 1 + len(line) > limit:
            break
        text += "\n" + line
    return text


def _buttons(n: AlertNotification) -> list[dict[str, Any]]:
    links = dict(n.links)
    first_trace = next((e.link for e in n.examples if e.link), None)
    if first_trace:
        links.setdefault("trace", first_trace)
    buttons = []
    for name, url in links.items():
        shown = valid_url(url)
        if shown.startswith(("http://", "https://")) and len(shown) <= _BUTTON_URL_MAX:
            buttons.append({"type": "button",
                            "text": {"type": "plain_text", "text": _cut(f"Open {name}", _BUTTON_TEXT_MAX)},
                            "url": shown})
    return buttons[:25]


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut_mrkdwn(text, 2000)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut_mrkdwn(text, _TEXT_MAX)}}


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
