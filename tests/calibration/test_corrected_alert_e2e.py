"""End to end through a running evaluator: spans scored by a real scorer are counted, the judge's agreement
comes from people's labels in the state database, and a ``corrected_failure_rate_above`` alert fires to a
real HTTP receiver on the corrected rate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from evaluator_service.state import open_shared_state
from evaluator_service.state.dataset_labels import DatasetLabel, HumanLabel
from tests.alerts.polite_alerts import BAD, GOOD, SCORER, alert_doc, judged, send_outputs
from tests.alerts.webhook_receiver import WebhookReceiver

TRUE_DROP = {"name": "true-drop", "corrected_failure_rate_above": 0.5, "window": "1m", "min_count": 5}


@pytest.fixture
def webhook():  # type: ignore[no-untyped-def]
    with WebhookReceiver() as hook:
        yield hook


async def test_a_running_evaluator_fires_on_the_corrected_failure_rate(
    make_config: Callable[..., EvaluatorConfig], webhook: WebhookReceiver
) -> None:
    config = make_config(alert_doc(webhook, TRUE_DROP, calibration={"min_labels": 2}))
    state = open_shared_state(config.state_db_url)
    await state.open()
    # people: 2 failures the judge failed, 4 passes of which the judge failed 2 -> Se 1.0, Sp 0.5
    verdicts = [(HumanLabel.FAIL, False)] * 2 + [(HumanLabel.PASS, True)] * 2 + [(HumanLabel.PASS, False)] * 2
    await state.put_labels([DatasetLabel("support", f"t{i}:s{i}:{SCORER}", SCORER, label, judge, "ann")
                            for i, (label, judge) in enumerate(verdicts)])
    manager = AlertManager(config.alerts, channel_configs=config.channels, tick_s=0.1,
                           calibration=config.calibration)
    app = EvaluatorApp(config, alerts=manager, shared_state=state)
    await app.start()
    try:
        await send_outputs(app, [GOOD, BAD, BAD, BAD, BAD])  # observed 0.8
        await judged(app, 5)
        fired = (await asyncio.to_thread(webhook.wait_for, 1, "firing", "true-drop"))[0]
    finally:
        await app.stop(grace=5)
        await state.close()
    # corrected (0.8 + 0.5 - 1) / (1.0 + 0.5 - 1) = 0.6
    assert fired["observed"] == pytest.approx(0.6) and fired["threshold"] == 0.5
    assert fired["details"]["observed_failure_rate"] == 0.8 and fired["details"]["specificity"] == 0.5
    assert fired["examples"] and fired["labels"]["scorer"] == SCORER
