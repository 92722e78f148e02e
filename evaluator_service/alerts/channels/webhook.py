"""The generic webhook channel: the notification's JSON document, signed with HMAC-SHA256.

::

    ops-hook:
      type: webhook
      url: https://hooks.example.com/judgeval      # ${env:NAME} allowed anywhere in it
      secret: "${env:JUDGEVAL_WEBHOOK_SECRET}"     # optional: sign every request
      headers: {Authorization: "Bearer ${env:HOOK_TOKEN}"}

Headers of every request: ``X-Judgeval-Event-Id`` (the notification's ``event_id``, the same on every retry
and replica: de-duplicate on it), ``X-Judgeval-Timestamp`` (Unix seconds of this try) and, with a secret,
``X-Judgeval-Signature: sha256=<hex>`` = HMAC-SHA256(secret, ``<timestamp>.<body bytes>``): the timestamp
is signed, so a receiver that rejects old timestamps cannot be replayed to.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

from evaluator_service.alerts.channels.document import encode_json, notification_document
from evaluator_service.alerts.channels.env_refs import read_secret, resolve_env, secret_keys
from evaluator_service.alerts.channels.http_post import post, shown_url
from evaluator_service.alerts.channels.policy import DeliveryPolicy
from evaluator_service.alerts.notification import AlertNotification, DeliveryAttempt
from evaluator_service.config_values import ConfigError, Section

EVENT_ID_HEADER = "X-Judgeval-Event-Id"
TIMESTAMP_HEADER = "X-Judgeval-Timestamp"
SIGNATURE_HEADER = "X-Judgeval-Signature"
SIGNATURE_PREFIX = "sha256="
_RESERVED_HEADERS = frozenset(h.lower() for h in (EVENT_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER,
                                                  "Content-Type", "Content-Length", "Host"))
WEBHOOK_KEYS = frozenset({"url", "headers", *secret_keys("secret")})


@dataclass(frozen=True)
class WebhookSettings:
    """A webhook channel's settings, ``${env:...}`` already resolved (secrets hidden from ``repr``)."""

    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    masked: tuple[str, ...] = field(default=(), repr=False)
    """Values that came from the environment (the secret, header values with ``${env:...}``): masked in any
    detail a receiver echoes them in."""


def parse_webhook(s: Section, environ: Mapping[str, str]) -> WebhookSettings:
    masked: list[str] = []
    url = http_url(s, "url", environ, found=masked)
    headers: dict[str, str] = {}
    for key, value in s.str_map("headers").items():
        where = f"{s.where('headers')}.{key}"
        if key.lower() in _RESERVED_HEADERS:
            raise ConfigError(f"{where}: set by the webhook channel itself; choose another header")
        headers[key] = resolve_env(value, where, environ, masked)
    secret = read_secret(s, "secret", environ, required=False, what="the HMAC signing secret")
    if secret:
        masked.append(secret)
    return WebhookSettings(url=url, secret=secret, headers=headers, masked=tuple(masked))


def http_url(s: Section, key: str, environ: Mapping[str, str], default: str | None = None, *,
             found: list[str] | None = None) -> str:
    """An ``http(s)://`` URL with ``${env:...}`` resolved. A URL's path and query often hold a token: they
    are appended to ``found`` (to be masked) and never echoed in a message."""
    raw = s.opt_str(key) or default
    if raw is None:
        raise ConfigError(f"{s.where(key)}: required (an http:// or https:// URL)")
    url = resolve_env(raw, s.where(key), environ, found)
    try:
        parsed = urlsplit(url)
        valid = parsed.scheme in ("http", "https") and bool(parsed.hostname) and parsed.port != 0
    except ValueError:  # a port that is not a number
        valid = False
    if not valid:
        raise ConfigError(f"{s.where(key)}: must be an http:// or https:// URL, got {shown_url(url)!r}")
    if found is not None:
        found += [part for part in (parsed.path.strip("/"), parsed.query) if len(part) >= 8]
    return url


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Judgeval-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


class WebhookChannel:
    """POSTs :func:`~evaluator_service.alerts.channels.document.notification_document` as JSON."""

    def __init__(self, name: str, settings: WebhookSettings, policy: DeliveryPolicy,
                 client: aiohttp.ClientSession, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.name = f"webhook:{name}"
        self.destination = shown_url(settings.url)
        self.policy = policy
        self._settings = settings
        self._client = client
        self._wall_clock = wall_clock

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        body = encode_json(notification_document(notification))
        timestamp = str(int(self._wall_clock()))
        headers = {**self._settings.headers, "Content-Type": "application/json",
                   EVENT_ID_HEADER: notification.event_id, TIMESTAMP_HEADER: timestamp}
        if self._settings.secret:
            headers[SIGNATURE_HEADER] = sign(self._settings.secret, timestamp, body)
        return await post(self._client, self.name, self._settings.url, content=body, headers=headers,
                          timeout_s=self.policy.timeout_s, secrets=self._settings.masked)
