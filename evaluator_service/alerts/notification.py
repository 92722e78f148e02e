"""The contract between the alert engine and the notification channels.

The engine (state machine, conditions, history) decides *that* something must be said and builds one
:class:`AlertNotification`; a channel (webhook, Slack, PagerDuty, Opsgenie, email) decides *how* it is said
and returns a :class:`DeliveryAttempt` per try instead of raising. Neither side knows the other's internals:
channels never read alert configs or state, the engine never formats a channel's payload.

``event_id`` is stable across retries and replicas (receivers de-duplicate on it); ``dedup_key`` is stable
for one alert *episode* (from the first ``firing`` to its ``resolved``), which is what PagerDuty and Opsgenie
pair a trigger with its resolve by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class NotificationKind(StrEnum):
    """Why a notification is sent."""

    FIRING = "firing"
    """The alert entered ``firing`` (or escalated from warning to critical)."""
    RENOTIFY = "renotify"
    """Still firing after the alert's re-notify interval."""
    RESOLVED = "resolved"
    """The alert recovered (sent unless the alert turned recovery messages off)."""
    NO_DATA = "no_data"
    """The alert's scorer stopped producing results."""
    BEHAVIOR = "behavior"
    """A behavior event (created, regressed, increasing) matched a behavior alert."""
    TEST = "test"
    """Sent by ``judgeval alerts test NAME``."""


class Severity(StrEnum):
    """How bad it is; channels map it to their own levels (PagerDuty ``severity``, Opsgenie ``priority``)."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class AlertExample:
    """A span or trajectory that contributed, with a link to it in the trace backend."""

    trace_id: str
    span_id: str
    service_name: str = ""
    reason: str | None = None
    """The scorer's own reason for this result (``<scorer> = <value>`` when it gave none; the error kind and
    message for a scoring error)."""
    link: str | None = None


@dataclass(frozen=True, slots=True)
class AlertNotification:
    """One message about one alert, ready for any channel."""

    event_id: str
    dedup_key: str
    kind: NotificationKind
    alert: str
    severity: Severity
    state: str
    previous_state: str
    summary: str
    """One human-readable line: what, how bad (used as Slack text, PagerDuty summary, email subject)."""
    condition: str
    """The condition in words, e.g. ``failure rate above 20% over 5m (at least 20 results)``."""
    at: float
    """Unix time of the transition."""
    observed: float | None = None
    threshold: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    """Scorer, service, agent, environment and other filter values the alert matched."""
    examples: tuple[AlertExample, ...] = ()
    links: dict[str, str] = field(default_factory=dict)
    """Named links, e.g. ``{"issue": ..., "console": ...}``."""
    details: dict[str, Any] = field(default_factory=dict)
    """Condition-specific figures (window counts, burn rates, behavior id and name, ...)."""
    unit: str = ""
    """How ``observed`` and ``threshold`` read to people: ``%`` a share (0.2 is 20%), ``x`` a burn-rate
    factor, ``""`` as they are (a score, a count); see :func:`shown_value`."""
    reason: str | None = None
    """Why, in the words of what breached: a score alert's headline example's reason (the scorer's own
    explanation of the worst or latest failing result, which is ``examples[0]``), a behavior alert's
    behavior name; ``None`` when nothing breached (a recovery, no data)."""


def shown_value(value: float | None, unit: str) -> str | None:
    """An observed value or threshold as a channel shows it to people (``20%``, ``16.2x``, ``0.35``);
    ``None`` for none."""
    if value is None:
        return None
    if unit == "%":
        return f"{value * 100:.3g}%"
    return f"{value:.4g}{unit}"


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """How one try of sending one notification to one target went. ``target`` never shows a secret."""

    target: str
    ok: bool
    detail: str
    retryable: bool = True
    status_code: int | None = None
    retry_after_s: float | None = None
    """How long the receiver asked us to wait before trying again (HTTP ``Retry-After``), when it did."""


class Channel(Protocol):
    """One configured notification target."""

    name: str
    """Shown in history and logs (``slack:#oncall``, ``webhook:https://hooks.example/...``); no secrets."""

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        """Try once; never raises for a delivery failure (report it in the attempt)."""
        ...
