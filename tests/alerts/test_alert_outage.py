"""A state database outage: scoring and export go on, alert counts wait in memory, one error line, and the
alert fires once the database is back."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from judgeval.testing.otlp_receiver import OtlpTraceReceiver

from evaluator_service.app import EvaluatorApp
from tests.support.evaluator import wait_for
from tests.support.polling import eventually_async
from tests.support.postgres_cluster import PostgresCluster, set_reachable

from .polite_alerts import BAD, alert, alert_doc, judged, send_outputs
from .webhook_receiver import WebhookReceiver


async def test_counts_survive_an_outage_and_fire_when_the_database_returns(
    make_config, tmp_path: Path, postgres: PostgresCluster, webhook: WebhookReceiver,
    receiver: OtlpTraceReceiver, caplog: pytest.LogCaptureFixture,
):
    database = postgres.new_database()
    rule = alert("drop", webhook, failure_rate_above=0.5, window="1m", min_count=2)
    app = EvaluatorApp(make_config(alert_doc(rule, state_db=postgres.url(database))))
    await app.start()
    caplog.set_level(logging.ERROR, logger="evaluator_service.alerts.manager")
    try:
        set_reachable(postgres, database, False)
        traces = await send_outputs(app, [BAD, BAD])
        await judged(app, 2)
        spans = await wait_for(receiver, lambda got: len(got) >= 2)  # scoring does not wait for alerts
        assert sorted(s.trace_id for s in spans) == sorted(traces)
        await eventually_async(lambda: "alerts: state database" in caplog.text, lambda: caplog.text)
        assert not webhook.posts
        set_reachable(postgres, database, True)
        fired = (await asyncio.to_thread(webhook.wait_for, 1, "firing"))[0]
    finally:
        set_reachable(postgres, database, True)
        await app.stop(grace=5)
    assert fired["observed"] == 1.0
    assert sum("alerts: state database" in r.getMessage() for r in caplog.records) == 1
