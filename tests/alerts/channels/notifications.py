"""Notifications with every field set, and the recorder the engine would pass to ``deliver``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from evaluator_service.alerts.notification import (
    AlertExample,
    AlertNotification,
    DeliveryAttempt,
    NotificationKind,
    Severity,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
AT = 1_796_000_000.25
ENGINE_LABELS = {"alert": "politeness-drop", "scorer": "Politeness", "service.name": "support-bot",
                 "gen_ai.agent.name": "triage", "severity": "critical"}
"""Labels keyed as the engine keys them (filter attributes by their attribute names)."""
FIRING_SUMMARY = ("[FIRING critical] politeness-drop on support-bot: failure rate 35% > 20% over 5m "
                  "(scorer Politeness)")
RESOLVED_SUMMARY = ("[RESOLVED] politeness-drop on support-bot: failure rate back to 5% over 5m "
                    "(was critical for 12m; scorer Politeness)")
"""What the engine writes for this notification and its recovery (:mod:`evaluator_service.alerts.summary`)."""


def notification(**changes: Any) -> AlertNotification:
    """A firing, critical notification of ``politeness-drop`` with two examples and two links."""
    base = AlertNotification(
        event_id="evt-7f3a9c01", dedup_key="politeness-drop/1796000000", kind=NotificationKind.FIRING,
        alert="politeness-drop", severity=Severity.CRITICAL, state="firing", previous_state="pending",
        summary=FIRING_SUMMARY, condition="failure rate above 20% over 5m (at least 20 results)", at=AT,
        observed=0.35, threshold=0.2, unit="%",
        labels={"scorer": "Politeness", "service": "support-bot", "agent": "triage"},
        examples=(
            AlertExample(TRACE_ID, SPAN_ID, "support-bot", "rude <reply> & curt",
                         f"http://jaeger:16686/trace/{TRACE_ID}"),
            AlertExample("a" * 32, "b" * 16, "support-bot"),
        ),
        links={"issue": "http://console:8080/behaviors/b-12", "console": "http://console:8080/alerts/x"},
        details={"window_s": 300.0, "failures": 7, "total": 20},
    )
    return replace(base, **changes)


def resolved(n: AlertNotification) -> AlertNotification:
    """The recovery of ``n``'s episode: same dedup key, a new event id."""
    return replace(n, event_id=n.event_id + "-resolved", kind=NotificationKind.RESOLVED, state="resolved",
                   previous_state="firing", summary=RESOLVED_SUMMARY,
                   observed=0.05)


class Attempts(list[DeliveryAttempt]):
    """Collects what ``deliver`` records; pass ``attempts.record``."""

    async def record(self, attempt: DeliveryAttempt) -> None:
        self.append(attempt)
