"""The state machine on a real SQLite state database with an injected clock: ``for:``, windows, flapping,
recovery, re-notify, escalation, no-data, absence, burn rate, silences and pauses. Every transition is
read back from the stored history; notifications from the outbox, delivered to a real HTTP receiver."""

from __future__ import annotations

from evaluator_service.alerts.manager import AlertManager
from evaluator_service.state.alert_silences import Silence

from .conftest import EngineFactory
from .engine_harness import Clock, score
from .webhook_receiver import WebhookReceiver


async def states(manager: AlertManager, name: str) -> list[str]:
    """The alert's transitions, oldest first, as ``from>to``."""
    return [f"{h.from_state}>{h.to_state}" for h in reversed(await manager.history(name))]


async def delivered(manager: AlertManager, hook: WebhookReceiver) -> list[tuple[str, str]]:
    """Send everything due, then (kind, severity) of every accepted POST."""
    assert manager.worker is not None
    while await manager.worker.run_once():
        pass
    return [(body["kind"], body["severity"]) for body in hook.accepted()]


FAILURE_RATE = {"name": "drop", "failure_rate_above": {"critical": 0.5, "warning": 0.2}, "window": "1m",
                "min_count": 4, "for": "30s", "notify": ["hook"]}


async def test_a_breach_fires_only_after_it_held_for_the_for_duration(engine: EngineFactory, clock: Clock,
                                                                      webhook: WebhookReceiver):
    manager = await engine(FAILURE_RATE)
    for value in (0.0, 0.0, 0.0, 1.0):
        manager.record(score(value))
    await manager.tick()
    assert await states(manager, "drop") == ["ok>pending"]
    clock.advance(29)
    await manager.tick()
    assert await states(manager, "drop") == ["ok>pending"]
    assert await delivered(manager, webhook) == []
    clock.advance(1)
    await manager.tick()
    assert await states(manager, "drop") == ["ok>pending", "pending>firing"]
    assert await delivered(manager, webhook) == [("firing", "critical")]
    body = webhook.accepted()[0]
    assert body["alert"] == "drop" and body["observed"] == 0.75 and body["threshold"] == 0.5
    assert body["details"] == {"total": 4, "bad": 3, "min_count": 4}
    assert body["labels"] == {"alert": "drop", "scorer": "polite", "severity": "critical"}


async def test_min_count_and_warning_level(engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    manager = await engine({**FAILURE_RATE, "for": 0})
    for value in (0.0, 1.0, 1.0):
        manager.record(score(value))
    await manager.tick()
    assert await states(manager, "drop") == []  # 3 scores < min_count 4
    manager.record(score(1.0))
    await manager.tick()
    assert await delivered(manager, webhook) == [("firing", "warning")]  # 1/4 = 0.25 > 0.2
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value))
    await manager.tick()  # 5/8 > 0.5: escalation to critical, same episode
    sent = await delivered(manager, webhook)
    assert sent == [("firing", "warning"), ("firing", "critical")]
    keys = {body["dedup_key"] for body in webhook.accepted()}
    assert len(keys) == 1


async def test_a_flapping_breach_shorter_than_for_never_notifies(engine: EngineFactory, clock: Clock,
                                                                  webhook: WebhookReceiver):
    manager = await engine({**FAILURE_RATE, "window": "10s", "for": "20s"})
    for _ in range(3):
        for value in (0.0, 0.0, 0.0, 0.0):
            manager.record(score(value))
        await manager.tick()
        clock.advance(11)  # the bad scores leave the window before `for` elapsed
        for value in (1.0, 1.0, 1.0, 1.0):
            manager.record(score(value))
        await manager.tick()
        clock.advance(11)
    assert await states(manager, "drop") == ["ok>pending", "pending>ok"] * 3
    assert await delivered(manager, webhook) == []


async def test_recovery_resolves_with_the_same_dedup_key_and_can_be_turned_off(
        engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    quiet = {"name": "quiet", **{k: v for k, v in FAILURE_RATE.items() if k != "name"}, "for": 0,
             "recovery": False}
    manager = await engine({**FAILURE_RATE, "for": 0}, quiet)
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value))
    await manager.tick()
    clock.advance(61)
    for value in (1.0, 1.0, 1.0, 1.0):
        manager.record(score(value))
    await manager.tick()
    assert await states(manager, "drop") == ["ok>firing", "firing>resolved"]
    assert await states(manager, "quiet") == ["ok>firing", "firing>resolved"]
    await delivered(manager, webhook)
    drop = [(b["kind"], b["dedup_key"]) for b in webhook.accepted(alert="drop")]
    assert [kind for kind, _ in drop] == ["firing", "resolved"] and drop[0][1] == drop[1][1]
    assert [b["kind"] for b in webhook.accepted(alert="quiet")] == ["firing"]


async def test_renotify_repeats_while_firing(engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    manager = await engine({**FAILURE_RATE, "for": 0, "renotify": "10m", "window": "1h"})
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value))
    await manager.tick()
    clock.advance(599)
    await manager.tick()
    clock.advance(1)
    await manager.tick()
    clock.advance(1)
    await manager.tick()
    assert [k for k, _ in await delivered(manager, webhook)] == ["firing", "renotify"]


async def test_score_below_fires_on_one_score_and_resolves_after_the_quiet_period(
        engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    manager = await engine({"name": "rude", "score_below": 0.5, "quiet": "5m", "notify": ["hook"],
                            "link_template": "http://jaeger:16686/trace/{trace_id}"})
    manager.record(score(0.9))
    await manager.tick()
    manager.record(score(0.1, trace="ee" * 16))
    await manager.tick()
    clock.advance(299)
    await manager.tick()
    clock.advance(10)
    await manager.tick()
    assert await states(manager, "rude") == ["ok>firing", "firing>resolved"]
    await delivered(manager, webhook)
    fired, resolved = webhook.accepted()
    assert fired["observed"] == 0.1
    assert fired["examples"][0]["link"] == "http://jaeger:16686/trace/" + "ee" * 16
    assert fired["links"]["trace"] == fired["examples"][0]["link"]
    assert resolved["kind"] == "resolved" and resolved["examples"] == []


async def test_an_empty_window_follows_the_no_data_policy(engine: EngineFactory, clock: Clock,
                                                          webhook: WebhookReceiver):
    manager = await engine({**FAILURE_RATE, "for": 0},
                           {**FAILURE_RATE, "name": "ok-policy", "for": 0, "no_data": "ok"},
                           {**FAILURE_RATE, "name": "keep", "for": 0, "no_data": "keep"})
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value))
    await manager.tick()
    clock.advance(120)  # nothing scored for longer than the window
    await manager.tick()
    assert await states(manager, "drop") == ["ok>firing", "firing>no_data"]
    assert await states(manager, "ok-policy") == ["ok>firing", "firing>resolved"]
    assert await states(manager, "keep") == ["ok>firing"]
    for value in (1.0, 1.0, 1.0, 1.0):
        manager.record(score(value))
    await manager.tick()
    assert await states(manager, "drop") == ["ok>firing", "firing>no_data", "no_data>resolved"]
    await delivered(manager, webhook)
    assert [b["kind"] for b in webhook.accepted(alert="drop")] == ["firing", "no_data", "resolved"]


async def test_a_firing_alert_that_lost_its_data_and_fires_again_keeps_its_episode(
        engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    manager = await engine({**FAILURE_RATE, "for": 0})
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value))
    await manager.tick()
    clock.advance(120)
    await manager.tick()
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value))
    await manager.tick()
    assert await states(manager, "drop") == ["ok>firing", "firing>no_data", "no_data>firing"]
    await delivered(manager, webhook)
    assert [b["kind"] for b in webhook.accepted()] == ["firing", "no_data", "firing"]
    assert len({b["dedup_key"] for b in webhook.accepted()}) == 1


async def test_absence_of_scores_fires_no_data_once_the_alert_watched_long_enough(
        engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    manager = await engine({"name": "stopped", "absent_for": "10m", "notify": ["hook"]})
    await manager.tick()
    clock.advance(300)
    manager.record(score(None))  # an error is still a result
    await manager.tick()
    clock.advance(599)
    await manager.tick()
    assert await states(manager, "stopped") == []
    clock.advance(2)
    await manager.tick()
    assert await states(manager, "stopped") == ["ok>firing"]
    manager.record(score(0.9))
    await manager.tick()
    assert await states(manager, "stopped") == ["ok>firing", "firing>resolved"]
    assert [k for k, _ in await delivered(manager, webhook)] == ["no_data", "resolved"]


async def test_burn_rate_needs_both_windows(engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    manager = await engine({"name": "budget", "notify": ["hook"], "burn_rate": {
        "objective": 0.9, "long_window": "1h", "short_window": "5m", "critical": 5, "warning": 2}})
    for _ in range(6):  # an hour-old burst: 30% failing = 3x the budget over the long window
        for value in (0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0):
            manager.record(score(value))
    await manager.tick()
    first = await manager.history("budget")
    assert [h.to_state for h in first] == ["firing"] and first[0].severity == "warning"
    assert first[0].detail["long_burn_rate"] == 3.0 and first[0].detail["short_burn_rate"] == 3.0
    clock.advance(600)  # the short window is clean now: the long one alone does not keep it firing
    for _ in range(10):
        manager.record(score(1.0))
    await manager.tick()
    assert await states(manager, "budget") == ["ok>firing", "firing>resolved"]
    for _ in range(10):  # a fresh total outage: short burn 10x, long (18+10)/(70) = 4x
        manager.record(score(0.0))
    await manager.tick()
    latest = (await manager.history("budget"))[0]
    assert (latest.to_state, latest.severity) == ("firing", "warning")
    assert [k for k, _ in await delivered(manager, webhook)] == ["firing", "resolved", "firing"]


async def test_a_silence_holds_notifications_back_but_keeps_the_history(
        engine: EngineFactory, clock: Clock, webhook: WebhookReceiver, sqlite_state):
    await sqlite_state.add_silence(Silence("sil-1", {"alert": "drop"}, clock.now, clock.now + 3600, "deploy"))
    await sqlite_state.add_silence(Silence("later", {"severity": "critical"}, clock.now + 7200,
                                           clock.now + 9000, "maintenance window"))
    manager = await engine({**FAILURE_RATE, "for": 0})
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value))
    await manager.tick()
    history = await manager.history("drop")
    assert [(h.to_state, h.silenced_by) for h in history] == [("firing", "sil-1")]
    assert await delivered(manager, webhook) == []
    assert await sqlite_state.expire_silence("sil-1", clock.now + 1)
    assert not await sqlite_state.expire_silence("sil-1", clock.now + 2)
    assert [s.id for s in await sqlite_state.silences(clock.now + 2)] == ["later"]


async def test_a_disabled_alert_is_paused_and_filters_select_events(engine: EngineFactory, clock: Clock,
                                                                    webhook: WebhookReceiver):
    manager = await engine({**FAILURE_RATE, "for": 0, "enabled": False},
                           {**FAILURE_RATE, "name": "prod-only", "for": 0, "environment": "production",
                            "agent": "refunds"})
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value, deployment__environment__name="staging", gen_ai__agent__name="refunds"))
    await manager.tick()
    assert await states(manager, "drop") == ["ok>paused"]
    assert await states(manager, "prod-only") == []  # nothing it looks at yet, but only just started
    for value in (0.0, 0.0, 0.0, 0.0):
        manager.record(score(value, deployment__environment__name="production",
                             gen_ai__agent__name="refunds"))
    await manager.tick()
    assert await states(manager, "prod-only") == ["ok>firing"]
    body = (await delivered(manager, webhook), webhook.accepted()[0])[1]
    assert body["labels"]["deployment.environment.name"] == "production"
