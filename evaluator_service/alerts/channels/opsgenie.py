"""The Opsgenie channel (and compatible APIs): create an alert per episode, close it by alias on recovery.

::

    ops-genie:
      type: opsgenie
      api_key: "${env:OPSGENIE_API_KEY}"   # sent as "Authorization: GenieKey <key>"; environment only
      url: https://api.opsgenie.com        # the default; https://api.eu.opsgenie.com for the EU instance
      source: judgeval-evaluator           # the default
      tags: [ai-agents]                    # added to every alert
      responders: [{type: team, name: ml-oncall}]   # passed through as Opsgenie documents them

Every kind but ``resolved`` creates an alert (``POST /v2/alerts``) with ``alias`` = the notification's
``dedup_key``: Opsgenie de-duplicates a repeated create into the open alert. ``resolved`` closes it
(``POST /v2/alerts/<alias>/close?identifierType=alias``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from evaluator_service.alerts.channels.document import encode_json, iso_time, service_label
from evaluator_service.alerts.channels.env_refs import read_secret, secret_keys
from evaluator_service.alerts.channels.http_post import post, shown_url
from evaluator_service.alerts.channels.policy import DeliveryPolicy
from evaluator_service.alerts.channels.webhook import http_url
from evaluator_service.alerts.notification import (
    AlertNotification,
    DeliveryAttempt,
    NotificationKind,
    Severity,
    shown_value,
)
from evaluator_service.config_values import ConfigError, Section

DEFAULT_URL = "https://api.opsgenie.com"
DEFAULT_SOURCE = "judgeval-evaluator"
OPSGENIE_KEYS = frozenset({"url", "source", "tags", "responders", *secret_keys("api_key")})
PRIORITIES = {Severity.CRITICAL: "P1", Severity.WARNING: "P3", Severity.INFO: "P5"}
_MESSAGE_MAX = 130
_ALIAS_MAX = 512
_DESCRIPTION_MAX = 15000


@dataclass(frozen=True)
class OpsgenieSettings:
    api_key: str = field(repr=False)
    url: str = DEFAULT_URL
    source: str = DEFAULT_SOURCE
    tags: tuple[str, ...] = ()
    responders: tuple[dict[str, str], ...] = ()


def parse_opsgenie(s: Section, environ: Mapping[str, str]) -> OpsgenieSettings:
    key = read_secret(s, "api_key", environ, required=True, what="the Opsgenie API integration key")
    assert key is not None
    tags = s.data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ConfigError(f"{s.where('tags')}: must be a list of non-empty strings")
    responders = []
    for index, item in enumerate(s.section_list("responders")):
        responder = {str(k): str(v) for k, v in item.data.items()}
        if responder.get("type") not in {"team", "user", "escalation", "schedule"} or len(responder) < 2:
            raise ConfigError(f"{s.where('responders')}[{index}]: needs type (team, user, escalation or "
                              "schedule) and id, name or username")
        responders.append(responder)
    return OpsgenieSettings(api_key=key, url=http_url(s, "url", environ, DEFAULT_URL).rstrip("/"),
                            source=s.opt_str("source") or DEFAULT_SOURCE, tags=tuple(tags),
                            responders=tuple(responders))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def create_request(n: AlertNotification, settings: OpsgenieSettings) -> dict[str, Any]:
    """The ``POST /v2/alerts`` body for ``n``."""
    details = {f"label.{k}": v for k, v in n.labels.items()}
    details.update({"alert": n.alert, "kind": n.kind.value, "state": n.state, "condition": n.condition,
                    **({"reason": n.reason} if n.reason else {}),
                    "observed": _number(n.observed), "threshold": _number(n.threshold),
                    "event_id": n.event_id, "at": iso_time(n.at)})
    details.update({f"link.{name}": url for name, url in n.links.items()})
    details.update({f"trace.{i + 1}": e.link or e.trace_id for i, e in enumerate(n.examples)})
    body: dict[str, Any] = {
        "message": _cut(n.summary, _MESSAGE_MAX), "alias": n.dedup_key[:_ALIAS_MAX],
        "description": _cut(_description(n), _DESCRIPTION_MAX), "priority": PRIORITIES[n.severity],
        "source": settings.source,
        "tags": [*settings.tags, f"alert:{n.alert}", n.severity.value, n.kind.value],
        "details": details,
    }
    if service_label(n):
        body["entity"] = service_label(n)
    if settings.responders:
        body["responders"] = [dict(r) for r in settings.responders]
    return body


def _description(n: AlertNotification) -> str:
    lines = [n.summary, "", f"Condition: {n.condition}", *([f"Reason: {n.reason}"] if n.reason else []),
             f"Observed: {shown_value(n.observed, n.unit) or 'n/a'}  "
             f"Threshold: {shown_value(n.threshold, n.unit) or 'n/a'}",
             f"State: {n.state} (was {n.previous_state}), severity {n.severity.value}"]
    lines += [f"{name}: {url}" for name, url in n.links.items()]
    lines += [f"Trace {e.trace_id}: {e.link or ''} {e.reason or ''}".rstrip() for e in n.examples]
    return "\n".join(lines)


def close_request(n: AlertNotification, settings: OpsgenieSettings) -> dict[str, Any]:
    """The ``POST /v2/alerts/<alias>/close`` body."""
    return {"source": settings.source, "note": _cut(n.summary, 25000)}


class OpsgenieChannel:
    """Creates or closes an Opsgenie alert per notification."""

    def __init__(self, name: str, settings: OpsgenieSettings, policy: DeliveryPolicy,
                 client: aiohttp.ClientSession) -> None:
        self.name = f"opsgenie:{name}"
        self.destination = shown_url(settings.url)
        self.policy = policy
        self._settings = settings
        self._client = client

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        s = self._settings
        if notification.kind is NotificationKind.RESOLVED:
            alias = quote(notification.dedup_key[:_ALIAS_MAX], safe="")
            url = f"{s.url}/v2/alerts/{alias}/close?identifierType=alias"
            body = close_request(notification, s)
        else:
            url, body = f"{s.url}/v2/alerts", create_request(notification, s)
        headers = {"Content-Type": "application/json", "Authorization": f"GenieKey {s.api_key}"}
        return await post(self._client, self.name, url, content=encode_json(body), headers=headers,
                          timeout_s=self.policy.timeout_s, secrets=(s.api_key,))
