"""Trajectory results reach alerts like span results: a looping agent's trajectory, scored by the built-in
``tool_loop`` scorer, fires a score alert through a real webhook channel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from judgeval.testing.otlp_receiver import OtlpTraceReceiver

from evaluator_service.config import EvaluatorConfig
from tests.alerts.webhook_receiver import WebhookReceiver
from tests.support.evaluator import running, wait_for
from tests.support.trajectories import ManualClock, export_feed, looping_run, requests_value

GRACE = 5.0


async def test_a_looping_trajectory_fires_a_score_alert_with_its_trace(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    clock = ManualClock()
    run = looping_run(4, requests=requests_value("trace", scorer="tool_loop"))
    with WebhookReceiver() as hook:
        doc = {
            "trajectories": {"grace_s": GRACE, "tick_s": 0.05},
            "channels": {"hook": {"type": "webhook", "url": hook.url}},
            "alerts": [{"name": "looping-agents", "scorer": "tool_loop", "score_below": 0.5, "for": "0s",
                        "notify": ["hook"], "link_template": "http://jaeger:16686/trace/{trace_id}"}],
        }
        async with running(make_config(doc), clock=clock) as app:
            await export_feed(app, run.spans)
            clock.advance(GRACE)
            await app.trajectories.sweeper.sweep()
            await wait_for(receiver, lambda spans: any(s.name == "evaluate tool_loop" for s in spans))
            [page] = await asyncio.to_thread(hook.wait_for, 1, "firing", "looping-agents", 30)
    assert page["examples"][0]["trace_id"] == run.trace_id.hex(), page
    assert page["examples"][0]["link"] == f"http://jaeger:16686/trace/{run.trace_id.hex()}"
    assert page["labels"]["scorer"] == "tool_loop" or "tool_loop" in page["summary"], page
