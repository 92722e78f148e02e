"""Alerts across evaluator processes' lifetimes: state and history survive a restart of the evaluator (same
state database), and two replicas sharing PostgreSQL notify once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from tests.support.postgres_cluster import PostgresCluster

from .engine_harness import HttpPostChannel
from .polite_alerts import BAD, GOOD, alert_doc, judged, send_outputs
from .webhook_receiver import WebhookReceiver

RULE = {"name": "rude-replies", "failure_rate_above": 0.5, "window": "10m", "min_count": 2}


async def started(config: EvaluatorConfig, hook: WebhookReceiver) -> EvaluatorApp:
    manager = AlertManager(config.alerts, channels={"hook": HttpPostChannel("hook", hook.url)}, tick_s=0.1)
    app = EvaluatorApp(config, alerts=manager)
    await app.start()
    return app


async def state_of(app: EvaluatorApp, name: str) -> str:
    return next(v.state for v in await app.alerts.views() if v.alert.name == name)


async def test_alert_state_and_history_survive_an_evaluator_restart(
        make_config: Callable[..., EvaluatorConfig], webhook: WebhookReceiver, tmp_path: Path):
    doc = alert_doc(webhook, RULE)
    first = await started(make_config(doc, data_dir=tmp_path / "data"), webhook)
    try:
        await send_outputs(first, [BAD, BAD])
        await asyncio.to_thread(webhook.wait_for, 1, "firing")
    finally:
        await first.stop(grace=5)
    second = await started(make_config(doc, data_dir=tmp_path / "data"), webhook)
    try:
        assert await state_of(second, "rude-replies") == "firing"  # not "ok" again after the restart
        await send_outputs(second, [GOOD] * 6)  # 2 of 8 in the window fail now: recovers
        resolved = (await asyncio.to_thread(webhook.wait_for, 1, "resolved"))[0]
        history = [h.to_state for h in reversed(await second.alerts.history("rude-replies"))]
    finally:
        await second.stop(grace=5)
    # The engines tick before the first score and after the restart: an empty window that neither watched
    # whole is no no_data step.
    assert history == ["firing", "resolved"], history
    firing = webhook.accepted("firing")
    assert len(firing) == 1 and resolved["dedup_key"] == firing[0]["dedup_key"]  # one episode, two processes


async def test_two_evaluator_replicas_notify_once(make_config: Callable[..., EvaluatorConfig],
                                                  webhook: WebhookReceiver, tmp_path: Path,
                                                  postgres: PostgresCluster):
    doc: dict[str, Any] = {**alert_doc(webhook, RULE), "state_db": postgres.url(postgres.new_database())}
    apps = [await started(make_config(doc, data_dir=tmp_path / name), webhook) for name in ("a", "b")]
    try:
        await asyncio.gather(*(send_outputs(app, [BAD]) for app in apps))  # one each: together min_count 2
        await asyncio.gather(*(judged(app, 1) for app in apps))
        await asyncio.to_thread(webhook.wait_for, 1, "firing")
    finally:
        await asyncio.gather(*(app.stop(grace=5) for app in apps))  # sends everything still due
    assert len(webhook.accepted("firing")) == 1, webhook.posts
    assert webhook.accepted("firing")[0]["observed"] == 1.0
