"""The durable outbox: a receiver outage delays notifications and loses none (and keeps their order), every
attempt is stored, a restarted engine sends what the previous one left, and a behavior event notifies once."""

from __future__ import annotations

from pathlib import Path

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.alerts.notification import AlertNotification, DeliveryAttempt
from evaluator_service.alerts.outbox_worker import RetryPolicy
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.state import SharedState, SqliteSharedState

from .conftest import EngineFactory
from .engine_harness import Clock, HttpPostChannel, MemoryBehaviorLog, alerts, score
from .webhook_receiver import WebhookReceiver

RULE = {"name": "rude", "score_below": 0.5, "notify": ["hook"]}


async def send_due(manager: AlertManager) -> int:
    assert manager.worker is not None
    handled = 0
    while n := await manager.worker.run_once():
        handled += n
    return handled


async def test_a_receiver_outage_is_retried_with_backoff_and_nothing_is_lost(
        engine: EngineFactory, clock: Clock, webhook: WebhookReceiver, sqlite_state: SharedState):
    webhook.fail_first = 3
    manager = await engine(RULE, retry=RetryPolicy(initial_s=10, max_s=60))
    manager.record(score(0.1))
    await manager.tick()
    clock.advance(400)  # resolved after the quiet period: a second notification queued behind the first
    await manager.tick()
    assert await send_due(manager) == 1  # firing fails (HTTP 500); resolved waits behind it
    assert await send_due(manager) == 0  # nothing is due before the backoff
    rounds = 0
    while await sqlite_state.outbox_counts() != {"delivered": 2}:
        rounds += 1
        assert rounds < 10, await sqlite_state.outbox_counts()
        clock.advance(60)
        await send_due(manager)
    assert [b["kind"] for b in webhook.accepted()] == ["firing", "resolved"]  # in order, each once
    resolved, fired = await manager.history("rude")
    assert fired.event_id is not None and resolved.event_id is not None
    assert [b["event_id"] for b in webhook.accepted()] == [fired.event_id, resolved.event_id]
    attempts = await sqlite_state.deliveries_of(fired.event_id)
    assert [(a.ok, a.detail) for a in attempts] == [(False, "HTTP 500")] * 3 + [(True, "HTTP 200")]
    assert [a.ok for a in await sqlite_state.deliveries_of(resolved.event_id)] == [True]
    assert await sqlite_state.outbox_counts() == {"delivered": 2}


async def test_a_notification_given_up_stays_visible(engine: EngineFactory, clock: Clock,
                                                     webhook: WebhookReceiver, sqlite_state: SharedState):
    webhook.fail_first = 100
    manager = await engine(RULE, retry=RetryPolicy(initial_s=10, max_s=10, give_up_after_s=25))
    manager.record(score(0.1))
    await manager.tick()
    for _ in range(4):
        await send_due(manager)
        clock.advance(10)
    assert await sqlite_state.outbox_counts() == {"failed": 1}
    assert manager.worker is not None and manager.worker.given_up == 1


async def test_state_and_pending_notifications_survive_a_restart(tmp_path: Path, clock: Clock,
                                                                 webhook: WebhookReceiver):
    path = tmp_path / "restart.sqlite3"
    channels = {"hook": HttpPostChannel("hook", webhook.url)}
    rule = {"name": "drop", "failure_rate_above": 0.5, "window": "10m", "min_count": 2, "for": "1m",
            "notify": ["hook"]}
    first_state = SqliteSharedState(path)
    await first_state.open()
    first = AlertManager(alerts(rule), channels=channels, clock=clock)
    await first.open(first_state)
    first.record(score(0.0))
    first.record(score(0.0))
    await first.tick()  # pending, then the process ends
    await first_state.close()

    clock.advance(60)
    second_state = SqliteSharedState(path)
    await second_state.open()
    try:
        second = AlertManager(alerts(rule), channels=channels, clock=clock)
        await second.open(second_state)
        await second.tick()  # the shared buckets still hold the breach; `for` counted from before
        webhook.fail_first = 1
        await send_due(second)  # fails, and this process "crashes" before the retry
        third = AlertManager(alerts(rule), channels=channels, clock=clock)
        await third.open(second_state)
        clock.advance(300)
        await send_due(third)
        history = [h.to_state for h in reversed(await third.history("drop"))]
    finally:
        await second_state.close()
    assert history == ["pending", "firing"]
    assert [b["kind"] for b in webhook.accepted()] == ["firing"]


async def test_behavior_events_notify_each_matching_alert_once(engine: EngineFactory, clock: Clock,
                                                               webhook: WebhookReceiver):
    log = MemoryBehaviorLog()
    manager = await engine({"name": "new-behaviors", "behavior": ["created", "regressed"], "notify": ["hook"],
                            "service": "support-bot", "quiet": "30m",
                            "link_template": "http://jaeger:16686/trace/{trace_id}",
                            "issue_link_template": "http://console/behaviors/{behavior_id}"},
                           {"name": "other-service", "behavior": "created", "service": "billing",
                            "notify": ["hook"]},
                           {"name": "switched-off", "behavior": "created", "notify": ["hook"],
                            "enabled": False},
                           behavior_log=log)
    log.append(BehaviorEventKind.CREATED, "bhv_1", clock.now, services=("support-bot",),
               example_trace_ids=("ab" * 16,))
    log.append(BehaviorEventKind.INCREASING, "bhv_1", clock.now, services=("support-bot",))
    log.append(BehaviorEventKind.CREATED, "bhv_old", clock.now - 7200, services=("support-bot",))
    await manager.tick()
    await manager.tick()  # the cursor moved: nothing twice
    await send_due(manager)
    bodies = webhook.accepted()
    assert [(b["alert"], b["kind"], b["details"]["behavior_id"]) for b in bodies] == [
        ("new-behaviors", "behavior", "bhv_1")]
    assert bodies[0]["dedup_key"] == "new-behaviors:bhv_1"
    assert bodies[0]["examples"][0]["trace_id"] == "ab" * 16
    assert bodies[0]["links"] == {"trace": "http://jaeger:16686/trace/" + "ab" * 16,
                                  "issue": "http://console/behaviors/bhv_1"}
    log.append(BehaviorEventKind.REGRESSED, "bhv_1", clock.now, services=("support-bot",), severity="medium")
    clock.advance(60)
    await manager.tick()
    await send_due(manager)
    assert [(b["severity"], b["details"]["behavior_severity"]) for b in webhook.accepted()] == [
        ("critical", "critical"), ("warning", "medium")]
    clock.advance(1800)
    await manager.tick()
    states = [f"{h.from_state}>{h.to_state}" for h in reversed(await manager.history("new-behaviors"))]
    assert states == ["ok>firing", "firing>firing", "firing>ok"]
    assert [h.to_state for h in await manager.history("switched-off")] == ["paused"]


async def test_test_notification_reports_each_target(engine: EngineFactory, webhook: WebhookReceiver,
                                                     sqlite_state: SharedState):
    manager = await engine(RULE)
    results = await manager.send_test("rude")
    assert [(r.target, r.ok, r.detail) for r in results] == [("log", True, "logged"),
                                                             ("hook", True, "HTTP 200")]
    body = webhook.accepted()[0]
    assert body["kind"] == "test" and body["alert"] == "rude"
    assert [a.ok for a in await sqlite_state.deliveries_of(body["event_id"])] == [True]


async def test_history_older_than_the_retention_is_pruned(
        engine: EngineFactory, clock: Clock, webhook: WebhookReceiver, sqlite_state: SharedState):
    manager = await engine(RULE, retention_s=7 * 86400)
    manager.record(score(0.1))
    await manager.tick()
    await send_due(manager)
    clock.advance(600)
    await manager.tick()  # resolved by the quiet period
    old = await manager.history("rude")
    assert [h.to_state for h in old] == ["resolved", "firing"]
    clock.advance(7 * 86400 + 60)
    manager.record(score(0.1))
    await manager.tick()  # fires again, then the hourly prune drops the week-old rows
    assert [h.to_state for h in await manager.history("rude")] == ["firing"]
    assert old[1].event_id is not None
    assert await sqlite_state.deliveries_of(old[1].event_id) == []
    assert await sqlite_state.notification_rows(old[1].event_id) == []


class BusyChannel:
    """Answers like a receiver sending 429 with ``Retry-After: 120`` twice, then accepts."""

    name = "busy"

    def __init__(self) -> None:
        self.tries = 0

    async def send(self, notification: AlertNotification) -> DeliveryAttempt:
        self.tries += 1
        if self.tries <= 2:
            return DeliveryAttempt(self.name, False, "HTTP 429", status_code=429, retry_after_s=120)
        return DeliveryAttempt(self.name, True, "HTTP 200", status_code=200)


async def test_a_receivers_retry_after_is_honoured(sqlite_state: SharedState, clock: Clock):
    channel = BusyChannel()
    manager = AlertManager(alerts({**RULE, "notify": ["busy"]}, channels=("busy",)),
                           channels={"busy": channel}, clock=clock, retry=RetryPolicy(initial_s=10))
    await manager.open(sqlite_state)
    manager.record(score(0.1))
    await manager.tick()
    await send_due(manager)
    clock.advance(60)  # past our own 10 s backoff, but the receiver asked for 120 s
    await send_due(manager)
    assert channel.tries == 1
    clock.advance(60)
    await send_due(manager)
    clock.advance(120)
    await send_due(manager)
    assert channel.tries == 3 and await sqlite_state.outbox_counts() == {"delivered": 1}
