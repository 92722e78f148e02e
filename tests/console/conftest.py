"""Console test fixtures: a real webhook receiver for the alert the fed evaluator fires."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.webhook_receiver import WebhookReceiver


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook
