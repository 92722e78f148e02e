"""Two evaluator replicas (separate data directories and queues) sharing one real PostgreSQL state
database: a breach seen by both notifies once per cooldown, and rate windows count both replicas' scores."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from tests.support.postgres_cluster import PostgresCluster

from .polite_alerts import BAD, alert, alert_doc, judged, send_outputs
from .webhook_receiver import WebhookReceiver


async def replicas(stack: AsyncExitStack, make_config: Callable[..., EvaluatorConfig], tmp_path: Path,
                   state_db: str, doc: dict[str, Any]) -> list[EvaluatorApp]:
    apps = []
    for name in ("a", "b"):
        app = EvaluatorApp(make_config({**doc, "state_db": state_db}, data_dir=tmp_path / name))
        await app.start()
        stack.push_async_callback(app.stop, 5.0)
        apps.append(app)
    return apps


async def stop_all(apps: list[EvaluatorApp]) -> None:
    """Stopping sends every queued notification first, so counting afterwards is final."""
    await asyncio.gather(*(app.stop(grace=5) for app in apps))


async def test_same_breach_on_two_replicas_notifies_once(make_config, tmp_path: Path,
                                                         postgres: PostgresCluster, webhook: WebhookReceiver):
    doc = alert_doc(alert("rude", webhook, score_below=0.5, cooldown="1h"))
    async with AsyncExitStack() as stack:
        apps = await replicas(stack, make_config, tmp_path, postgres.url(postgres.new_database()), doc)
        await asyncio.gather(*(send_outputs(app, [BAD, BAD]) for app in apps))
        await asyncio.gather(*(judged(app, 2) for app in apps))
        await stop_all(apps)
    assert len(webhook.accepted("firing")) == 1, webhook.posts


async def test_rate_window_is_shared_between_replicas(make_config, tmp_path: Path, postgres: PostgresCluster,
                                                      webhook: WebhookReceiver):
    # Neither replica alone sees min_count scores; together they do.
    rule = alert("drop", webhook, failure_rate_above=0.5, window="1m", min_count=4, cooldown="1h")
    async with AsyncExitStack() as stack:
        apps = await replicas(stack, make_config, tmp_path, postgres.url(postgres.new_database()),
                              alert_doc(rule))
        await asyncio.gather(*(send_outputs(app, [BAD, BAD]) for app in apps))
        fired = await asyncio.to_thread(webhook.wait_for, 1, "firing")
        await stop_all(apps)
    assert len(webhook.accepted("firing")) == 1
    assert fired[0]["observed"] == 1.0
