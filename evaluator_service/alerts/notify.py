"""Alert notifications: the JSON payload and its delivery to a webhook with bounded retries.

Delivery runs on the alert manager's sender task, never on the Export or scoring path. A webhook that
keeps failing costs ``max_retries`` extra attempts with exponential backoff, then an error log line.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from evaluator_service.alerts.config import AlertConfig, WebhookConfig

logger = logging.getLogger(__name__)

MAX_EXAMPLES = 5
_BACKOFF_CAP_S = 30.0


class NotificationState:
    """Values of the payload's ``state`` field."""

    FIRING = "firing"
    RESOLVED = "resolved"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class SpanExample:
    """A span that contributed to the breach."""

    trace_id: str
    span_id: str
    service_name: str


@dataclass(frozen=True)
class Notification:
    """One message about one alert."""

    alert: AlertConfig
    state: str
    observed: float
    at: float
    examples: tuple[SpanExample, ...] = ()
    service_name: str = ""

    def payload(self) -> dict[str, Any]:
        """The webhook body (documented in ``evaluator_service/README.md``)."""
        alert = self.alert
        examples = [self._example(e) for e in self.examples[:MAX_EXAMPLES]]
        return {
            "alert": alert.name,
            "state": self.state,
            "scorer": alert.scorer,
            "condition": alert.condition.value,
            "observed": self.observed,
            "threshold": alert.threshold,
            "window_s": alert.window_s,
            "min_count": alert.min_count,
            "service_name": self.service_name,
            "examples": examples,
            "link": examples[0].get("link") if examples else None,
            "fired_at": datetime.fromtimestamp(self.at, UTC).isoformat(),
        }

    def _example(self, example: SpanExample) -> dict[str, Any]:
        out: dict[str, Any] = {"trace_id": example.trace_id, "span_id": example.span_id,
                               "service_name": example.service_name}
        if self.alert.link_template:
            out["link"] = self.alert.link_template.format(
                trace_id=example.trace_id, span_id=example.span_id, service_name=example.service_name)
        return out

    def summary(self) -> str:
        """One log line."""
        alert = self.alert
        window = f" over {alert.window_s:g}s" if alert.rate_based else ""
        example = f" (e.g. trace {self.examples[0].trace_id})" if self.examples else ""
        return (f"alert {alert.name!r} {self.state}: {alert.condition.value} {alert.threshold:g} for scorer "
                f"{alert.scorer!r}, observed {self.observed:g}{window}{example}")


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How sending one notification to one target went."""

    target: str
    ok: bool
    detail: str
    attempts: int = field(default=1)


def shown_url(url: str) -> str:
    """``url`` without path, query or credentials: webhook URLs often embed their secret token."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/..." if parts.path.strip("/") or parts.query else f"{parts.scheme}://{host}"


async def deliver_webhook(client: httpx.AsyncClient, hook: WebhookConfig, payload: dict[str, Any]
                          ) -> DeliveryResult:
    """POST ``payload``; retries connection errors, timeouts, 429 and 5xx up to ``hook.max_retries``."""
    attempts = 0
    detail = ""
    while attempts <= hook.max_retries:
        if attempts:
            await asyncio.sleep(min(_BACKOFF_CAP_S, hook.backoff_initial_s * 2 ** (attempts - 1)))
        attempts += 1
        try:
            response = await client.post(hook.url, json=payload, headers=hook.headers, timeout=hook.timeout_s)
        except httpx.HTTPError as exc:
            detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
            continue
        if response.is_success:
            return DeliveryResult(shown_url(hook.url), True, f"HTTP {response.status_code}", attempts)
        detail = f"HTTP {response.status_code}"
        if response.status_code != 429 and response.status_code < 500:
            break  # the receiver refuses this request; repeating it will not help
    return DeliveryResult(shown_url(hook.url), False, detail, attempts)
