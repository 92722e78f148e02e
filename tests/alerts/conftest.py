"""Fixtures for alert tests: a real HTTP webhook receiver (the evaluator, downstream receiver and
PostgreSQL fixtures come from ``tests/support``; the alert helpers are in ``polite_alerts.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .webhook_receiver import WebhookReceiver


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook
