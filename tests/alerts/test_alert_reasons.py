"""What a notification says about *why*: the reason of the result that breached (the scorer's own words, or
the error of a scoring error) with its trace link, only examples inside the window, and a behavior alert's
behavior name. Through the engine over SQLite, delivered to a local webhook receiver."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.alerts.events import ScoreEvent, score_events
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.scoring.contract import ScoreOutcome, ScoreResult

from .conftest import EngineFactory
from .engine_harness import SCORER, Clock, MemoryBehaviorLog, score
from .webhook_receiver import WebhookReceiver

JAEGER = "http://jaeger:16686/trace/{trace_id}"


def said(value: float, reason: str | None, trace: str) -> ScoreEvent:
    return replace(score(value, trace=trace), reason=reason)


async def fired(manager: AlertManager, webhook: WebhookReceiver, *events: ScoreEvent) -> dict[str, Any]:
    for event in events:
        manager.record(event)
    await manager.tick()
    assert manager.worker is not None
    while await manager.worker.run_once():
        pass
    [body] = webhook.accepted(state="firing")
    return body


async def test_a_score_below_alert_leads_with_the_worst_score_and_its_reason(engine: EngineFactory,
                                                                             webhook: WebhookReceiver):
    manager = await engine({"name": "low", "score_below": 0.5, "link_template": JAEGER, "notify": ["hook"]})
    worst = "1f" * 16
    body = await fired(manager, webhook, said(0.3, "a bit short", "0a" * 16),
                       said(0.1, "insulted the customer", worst), said(0.4, "no greeting", "0c" * 16))
    assert body["reason"] == "insulted the customer"
    assert [(e["trace_id"], e["reason"]) for e in body["examples"]] == [
        (worst, "insulted the customer"), ("0c" * 16, "no greeting"), ("0a" * 16, "a bit short")]
    assert body["links"]["trace"] == JAEGER.format(trace_id=worst)


async def test_examples_that_left_the_window_are_not_attached(engine: EngineFactory, clock: Clock,
                                                              webhook: WebhookReceiver):
    manager = await engine({"name": "rate", "failure_rate_above": 0.5, "window": "1m", "min_count": 1,
                            "notify": ["hook"]})
    manager.record(said(0.0, "an old failure", "0d" * 16))
    for _ in range(3):
        manager.record(said(1.0, "fine", "0e" * 16))
    await manager.tick()  # 1 of 4: no breach
    clock.advance(120)
    body = await fired(manager, webhook, said(0.0, "a new failure", "0f" * 16))
    assert body["reason"] == "a new failure"
    assert [e["reason"] for e in body["examples"]] == ["a new failure"]


async def test_without_a_reason_from_the_scorer_the_example_says_the_score(engine: EngineFactory,
                                                                           webhook: WebhookReceiver):
    manager = await engine({"name": "low", "score_below": 0.5, "notify": ["hook"]})
    body = await fired(manager, webhook, said(0.25, None, "0a" * 16))
    assert body["reason"] == body["examples"][0]["reason"] == f"{SCORER} = 0.25"


async def test_a_scoring_error_gives_its_kind_and_message(engine: EngineFactory, webhook: WebhookReceiver):
    manager = await engine({"name": "errors", "errors_above": 0, "window": "5m", "notify": ["hook"]})
    span = Span(trace_id=bytes.fromhex("2a" * 16), span_id=bytes.fromhex("2b" * 8), name="answer")
    result = ScoreResult(SCORER, 0.5, error_kind="timeout", error_message="no answer within 30s")
    [event] = score_events(span, [result], b"")
    body = await fired(manager, webhook, event)
    assert body["reason"] == "timeout: no answer within 30s"
    assert body["examples"][0]["trace_id"] == "2a" * 16


def test_a_score_event_carries_the_scorers_reason():
    span = Span(trace_id=bytes.fromhex("2a" * 16), span_id=bytes.fromhex("2b" * 8), name="answer")
    results = [ScoreResult(SCORER, 0.5, ScoreOutcome(0.0, "told the customer to go away")),
               ScoreResult(SCORER, 0.5, ScoreOutcome(1.0)), ScoreResult(SCORER, 0.5, error_kind="crashed")]
    assert [e.reason for e in score_events(span, results, b"")] == [
        "told the customer to go away", None, "crashed"]


async def test_a_behavior_alert_gives_the_behaviors_name_and_description(engine: EngineFactory, clock: Clock,
                                                                         webhook: WebhookReceiver):
    log = MemoryBehaviorLog()
    manager = await engine({"name": "new-behaviors", "behavior": ["created"], "notify": ["hook"],
                            "link_template": JAEGER}, behavior_log=log)
    log.append(BehaviorEventKind.CREATED, "bhv_1", clock.now, name="refuses refunds",
               example_trace_ids=("ab" * 16,), attributes={"description": "Declined a valid refund request"})
    body = await fired(manager, webhook)
    assert body["reason"] == "refuses refunds: Declined a valid refund request"
    assert body["examples"][0] == {"trace_id": "ab" * 16, "span_id": "", "service_name": "",
                                   "reason": "refuses refunds", "link": JAEGER.format(trace_id="ab" * 16)}
