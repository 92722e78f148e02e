"""Alerts on the deterministic ``keyword`` scorer ``polite`` (1.0 when the output says "thanks", else 0.0),
and sending outputs for it to judge through a real evaluator."""

from __future__ import annotations

from typing import Any

from evaluator_service.app import EvaluatorApp
from tests.support.evaluator import export
from tests.support.polling import eventually_async
from tests.support.spans import make_request, make_span, tagged_attributes

from .webhook_receiver import WebhookReceiver

SCORER = "polite"
POLITE_SCORER = {"name": SCORER, "type": "keyword", "options": {"keywords": ["thanks"]}}
GOOD, BAD = "thanks for waiting", "go away"


def alert_doc(hook: WebhookReceiver, *alerts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A config document with the polite scorer, a ``hook`` channel posting to ``hook`` and the alerts."""
    return {"scorers": [POLITE_SCORER], "channels": {"hook": {"type": "webhook", "url": hook.url}},
            "alerts": [{"scorer": SCORER, "notify": ["hook"], **a} for a in alerts], **extra}


async def send_outputs(app: EvaluatorApp, outputs: list[str], service: str = "support-bot") -> list[str]:
    """Export one tagged span per output (one export each); returns their trace ids (hex)."""
    trace_ids = []
    for output in outputs:
        span = make_span("answer", tagged_attributes((SCORER, {"actual_output": output})))
        await export(app, make_request([span], service=service))
        trace_ids.append(span.trace_id.hex())
    return trace_ids


async def judged(app: EvaluatorApp, count: int, timeout: float = 20.0) -> None:
    """Wait until the alert manager counted at least ``count`` score events."""
    await eventually_async(lambda: app.alerts.events_processed >= count,
                           lambda: f"{app.alerts.events_processed} of {count} score events counted", timeout)
