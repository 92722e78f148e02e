"""The PagerDuty channel: Events API v2, an incident per alert episode, resolved on recovery.

::

    pager:
      type: pagerduty
      routing_key: "${env:PAGERDUTY_ROUTING_KEY}"   # the integration key, from the environment only
      url: https://events.pagerduty.com/v2/enqueue  # the default
      source: judgeval-evaluator                     # payload.source (default)

``firing``, ``renotify``, ``no_data``, ``behavior`` and ``test`` send ``event_action: trigger`` and
``resolved`` sends ``resolve``, all with ``dedup_key`` = the notification's ``dedup_key`` (stable for one
episode), so PagerDuty groups re-notifications into the open incident and the recovery resolves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from evaluator_service.alerts.channels.document import (
    agent_label,
    encode_json,
    example_document,
    iso_time,
    service_label,
)
from evaluator_service.alerts.channels.env_refs import read_secret, secret_keys
from evaluator_service.alerts.channels.http_post import post, shown_url
from evaluator_service.alerts.channels.policy import DeliveryPolicy
from evaluator_service.alerts.channels.webhook import http_url
from evaluator_service.alerts.notification import (
    AlertNotification,
    DeliveryAttempt,
    NotificationKind,
    Severity,
)
from evaluator_service.config_values import Section

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_SOURCE = "judgeval-evaluator"
PAGERDUTY_KEYS = frozenset({"url", "source", *secret_keys("routing_key")})
SEVERITIES = {Severity.CRITICAL: "critical", Severity.WARNING: "warning", Severity.INFO: "info"}
"""Our severity → PagerDuty's ``payload.severity`` (PagerDuty also has ``error``, which we never send)."""
_SUMMARY_MAX = 1024
_DEDUP_KEY_MAX = 255


@dataclass(frozen=True)
class PagerDutySettings:
    routing_key: str = field(repr=False)
    url: str = DEFAULT_URL
    source: str = DEFAULT_SOURCE


def parse_pagerduty(s: Section, environ: Mapping[str, str]) -> PagerDutySettings:
    key = read_secret(s, "routing_key", environ, required=True, what="the Events API v2 integration key")
    assert key is not None
    return PagerDutySettings(routing_key=key, url=http_url(s, "url", environ, DEFAULT_URL),
                             source=s.opt_str("source") or DEFAULT_SOURCE)


def dedup_key(key: str) -> str:
    """``key`` as PagerDuty accepts it (at most 255 characters): a longer one is cut and suffixed with its
    hash, the same for the trigger and the resolve of one episode."""
    if len(key) <= _DEDUP_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: _DEDUP_KEY_MAX - 17]}~{digest}"


def pagerduty_event(n: AlertNotification, routing_key: str, source: str) -> dict[str, Any]:
    """The Events API v2 body for ``n``."""
    if n.kind is NotificationKind.RESOLVED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key(n.dedup_key)}
    payload: dict[str, Any] = {
        "summary": n.summary if len(n.summary) <= _SUMMARY_MAX else n.summary[: _SUMMARY_MAX - 1] + "…",
        "source": service_label(n) or source,
        "severity": SEVERITIES[n.severity],
        "timestamp": iso_time(n.at),
        "class": n.kind.value,
        "custom_details": {
            "alert": n.alert, "kind": n.kind.value, "state": n.state, "previous_state": n.previous_state,
            "condition": n.condition, "reason": n.reason, "observed": n.observed, "threshold": n.threshold,
            "labels": dict(n.labels), "details": dict(n.details), "event_id": n.event_id,
            "examples": [example_document(e) for e in n.examples],
        },
    }
    if n.labels.get("scorer"):
        payload["component"] = n.labels["scorer"]
    if agent_label(n):
        payload["group"] = agent_label(n)
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": "trigger",
                             "dedup_key": dedup_key(n.dedup_key),
                             "payload": payload, "client": "judgeval", "links": _links(n)}
    if n.links.get("console"):
        event["client_url"] = n.links["console"]
    return event


def _links(n: AlertNotification) -> list[dict[str, str]]:
    links = [{"href": url, "text": name} for name, url in n.links.items()]
    named = set(n.links.values())  # links.trace is the first example's link: listed once, by its name
    links += [{"href": e.link, "text": f"trace {e.trace_id}"}
              for e in n.examples if e.link and e.link not in named]
    return links


class PagerDutyChannel:
    """Sends :func:`pagerduty_event` to the Events API v2 endpoint."""

    def __init__(self, name: str, settings: PagerDutySettings, policy: DeliveryPolicy,
                 client: aiohttp.ClientSession) -> None:
        self.name = f"pagerduty:{name}"
        self.destination = shown_url(settings.url)
        self.policy = policy
        self._settings = settings
        self._client = client

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        event = pagerduty_event(notification, self._settings.routing_key, self._settings.source)
        body = encode_json(event)
        return await post(self._client, self.name, self._settings.url, content=body,
                          headers={"Content-Type": "application/json"}, timeout_s=self.policy.timeout_s,
                          secrets=(self._settings.routing_key,))
