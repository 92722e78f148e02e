"""Fixtures for alert tests: the evaluator fixtures (real in-process app, real downstream OTLP receiver),
the private PostgreSQL cluster of the shared-state tests, a real HTTP webhook receiver, and helpers that
send spans scored by the deterministic ``keyword`` scorer (1.0 when the output says "thanks", else 0.0)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from evaluator.conftest import (  # noqa: F401  (fixtures are used by name)
    export,
    make_config,
    make_request,
    make_span,
    receiver,
    tagged_attributes,
    wait_for,
)
from state.conftest import postgres  # noqa: F401

from evaluator_service.app import EvaluatorApp

from .webhook_receiver import WebhookReceiver

SCORER = "polite"
POLITE_SCORER = {"name": SCORER, "type": "keyword", "options": {"keywords": ["thanks"]}}
GOOD, BAD = "thanks for waiting", "go away"


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook


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
    await until(lambda: app.alerts.events_processed >= count, timeout,
                lambda: f"{app.alerts.events_processed} of {count} score events judged")


async def until(predicate: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    """Poll ``predicate`` on the event loop until it holds; ``TimeoutError`` naming what was missing."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(describe())
        await asyncio.sleep(0.02)
