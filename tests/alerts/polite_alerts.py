"""Alerts on the deterministic ``keyword`` scorer ``polite`` (1.0 when the output says "thanks", else 0.0),
and sending outputs for it to judge."""

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


def alert(name: str, hook: WebhookReceiver | None, **rule: Any) -> dict[str, Any]:
    """One ``alerts:`` entry on the polite scorer notifying ``hook`` with fast retries."""
    entry: dict[str, Any] = {"name": name, "scorer": SCORER, **rule}
    if hook is not None:
        entry["notify"] = {"webhook": {"url": hook.url, "backoff_initial_s": 0.05, "timeout_s": 5}}
    return entry


def alert_doc(*alerts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A config document with the polite scorer and the given alerts."""
    return {"scorers": [POLITE_SCORER], "alerts": list(alerts), **extra}


async def send_outputs(app: EvaluatorApp, outputs: list[str], service: str = "support-bot",
                       scorer: str = SCORER) -> list[str]:
    """Export one tagged span per output (one export each); returns their trace ids (hex)."""
    trace_ids = []
    for output in outputs:
        span = make_span("answer", tagged_attributes((scorer, {"actual_output": output})))
        await export(app, make_request([span], service=service))
        trace_ids.append(span.trace_id.hex())
    return trace_ids


async def judged(app: EvaluatorApp, count: int, timeout: float = 20.0) -> None:
    """Wait until the alert manager judged at least ``count`` score events."""
    await eventually_async(lambda: app.alerts.events_processed >= count,
                           lambda: f"{app.alerts.events_processed} of {count} score events judged", timeout)
