"""What alert engine tests drive: alerts parsed from YAML mappings, an injected clock, score events, a real
HTTP channel posting to a local receiver, and a small in-memory behavior event log."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import httpx

from evaluator_service.alerts.config import AlertConfig, parse_alerts
from evaluator_service.alerts.events import ScoreEvent
from evaluator_service.alerts.notification import AlertNotification, DeliveryAttempt
from evaluator_service.behaviors.events import BehaviorEvent, BehaviorEventKind
from evaluator_service.config_values import Section

SCORER = "polite"


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def alerts(*entries: dict[str, Any], channels: Sequence[str] = ("hook",)) -> tuple[AlertConfig, ...]:
    """Parse ``alerts:`` entries (each defaults to the polite scorer) as the evaluator config would."""
    sections = [Section({"scorer": SCORER, **entry} if "behavior" not in entry else entry, f"alerts[{i}]")
                for i, entry in enumerate(entries)]
    return parse_alerts(sections, channels)


def score(value: float | None, *, passed: bool | None = None, scorer: str = SCORER, trace: str = "ab" * 16,
          **attributes: Any) -> ScoreEvent:
    """A score event (``value`` None: a scoring error); ``passed`` defaults to value >= 0.5."""
    succeeded = passed if passed is not None else (None if value is None else value >= 0.5)
    attrs = {"service.name": "support-bot", **{k.replace("__", "."): v for k, v in attributes.items()}}
    return ScoreEvent(scorer=scorer, value=value, succeeded=succeeded,
                      error_kind="timeout" if value is None else None, trace_id=trace, span_id="cd" * 8,
                      service_name=str(attrs["service.name"]), attributes=attrs, at=0.0)


class HttpPostChannel:
    """A minimal real channel: POSTs the notification as JSON to ``url`` (2xx is delivered)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        body = dataclasses.asdict(notification)
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            return DeliveryAttempt(self.name, False, f"{type(exc).__name__}: {exc}")
        return DeliveryAttempt(self.name, response.is_success, f"HTTP {response.status_code}",
                               status_code=response.status_code)


class MemoryBehaviorLog:
    """:class:`~evaluator_service.behaviors.events.BehaviorEventLog` over a list (the behaviors engine's
    durable log is in the state database; the alert engine only reads through the protocol)."""

    def __init__(self) -> None:
        self.events: list[BehaviorEvent] = []

    def append(self, kind: BehaviorEventKind, behavior_id: str, at: float, **fields: Any) -> BehaviorEvent:
        sequence = len(self.events) + 1
        event = BehaviorEvent(sequence=sequence, event_id=f"evt-{sequence}", kind=kind,
                              behavior_id=behavior_id, name=fields.pop("name", "refuses refunds"),
                              scorer=fields.pop("scorer", SCORER),
                              severity=fields.pop("severity", "critical"),
                              state=fields.pop("state", "new"), at=at, **fields)
        self.events.append(event)
        return event

    async def events_after(self, sequence: int, limit: int = 100) -> list[BehaviorEvent]:
        return [e for e in self.events if e.sequence > sequence][:limit]
