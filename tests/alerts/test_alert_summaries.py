"""The summary line an on-call engineer reads first, for every condition kind, as the engine really sends it:
alerts judged over SQLite on an injected clock, notifications delivered to a local webhook receiver. It says
what happened and how bad (``[FIRING critical]``, ``[RESOLVED]``), to what (the alert and its service), the
observed value against the threshold in the condition's unit, and, on recovery, how long it fired."""

from __future__ import annotations

import json
from typing import Any

from evaluator_service.alerts.channels.email_body import email_message
from evaluator_service.alerts.channels.slack import slack_message
from evaluator_service.alerts.conditions import parse_condition
from evaluator_service.alerts.events import ScoreEvent
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.alerts.notification import NotificationKind, Severity
from evaluator_service.alerts.payload import notification_from_json
from evaluator_service.alerts.summary import score_alert_summary
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.config_values import Section

from .conftest import EngineFactory
from .engine_harness import Clock, MemoryBehaviorLog, score
from .webhook_receiver import WebhookReceiver


async def summaries(manager: AlertManager, webhook: WebhookReceiver, *events: ScoreEvent) -> list[str]:
    """Record ``events``, tick, deliver; the summaries of everything delivered so far."""
    for event in events:
        manager.record(event)
    await manager.tick()
    assert manager.worker is not None
    while await manager.worker.run_once():
        pass
    return [body["summary"] for body in webhook.accepted()]


def failures(count: int) -> list[ScoreEvent]:
    return [score(0.0) for _ in range(count)]


def passes(count: int) -> list[ScoreEvent]:
    return [score(1.0) for _ in range(count)]


async def test_score_below_fires_with_the_score_and_resolves_after_the_quiet_period(
        engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    manager = await engine({"name": "rude-answer", "service": "support-bot", "score_below": 0.5,
                            "notify": ["hook"]})
    assert await summaries(manager, webhook, score(0.2)) == [
        "[FIRING critical] rude-answer on support-bot: score 0.2 < 0.5 (scorer polite)"]
    clock.advance(301)
    assert (await summaries(manager, webhook))[1] == (
        "[RESOLVED] rude-answer on support-bot: no score below 0.5 for 5m "
        "(was critical for 5m; scorer polite)")


async def test_score_above_says_which_way(engine: EngineFactory, webhook: WebhookReceiver):
    manager = await engine({"name": "too-long", "score_above": 0.8, "notify": ["hook"]})
    assert await summaries(manager, webhook, score(0.93)) == [
        "[FIRING critical] too-long: score 0.93 > 0.8 (scorer polite)"]


async def test_a_failure_rate_reads_in_percent_escalates_and_recovers(engine: EngineFactory, clock: Clock,
                                                                      webhook: WebhookReceiver):
    manager = await engine({"name": "politeness-drop", "service": "support-bot", "window": "5m",
                            "failure_rate_above": {"critical": 0.5, "warning": 0.2}, "min_count": 4,
                            "notify": ["hook"]})
    first = await summaries(manager, webhook, *failures(1), *passes(3))
    assert first == ["[FIRING warning] politeness-drop on support-bot: failure rate 25% > 20% over 5m "
                     "(scorer polite)"]
    clock.advance(60)
    escalated = (await summaries(manager, webhook, *failures(4)))[1]
    assert escalated == ("[FIRING critical] politeness-drop on support-bot: failure rate 62.5% > 50% over 5m "
                         "(escalated from warning; scorer polite)")
    clock.advance(11 * 60)
    resolved = (await summaries(manager, webhook, *passes(4)))[2]
    assert resolved == ("[RESOLVED] politeness-drop on support-bot: failure rate back to 0% over 5m "
                        "(was critical for 12m; scorer polite)")


async def test_renotification_says_still_firing(engine: EngineFactory, clock: Clock,
                                                 webhook: WebhookReceiver):
    manager = await engine({"name": "errors", "error_rate_above": 0.3, "window": "5m", "renotify": "2m",
                            "notify": ["hook"]})
    assert await summaries(manager, webhook, score(None), score(1.0)) == [
        "[FIRING critical] errors: scoring error rate 50% > 30% over 5m (scorer polite)"]
    clock.advance(120)
    assert (await summaries(manager, webhook))[1] == (
        "[STILL FIRING critical] errors: scoring error rate 50% > 30% over 5m (scorer polite)")


async def test_an_error_count(engine: EngineFactory, webhook: WebhookReceiver):
    manager = await engine({"name": "timeouts", "errors_above": 2, "window": "5m", "notify": ["hook"]})
    assert await summaries(manager, webhook, score(None), score(None), score(None)) == [
        "[FIRING critical] timeouts: 3 scoring errors > 2 over 5m (scorer polite)"]


async def test_a_burn_rate(engine: EngineFactory, webhook: WebhookReceiver):
    manager = await engine({"name": "budget", "burn_rate": {"objective": 0.9, "critical": 2},
                            "notify": ["hook"]})
    assert await summaries(manager, webhook, *failures(1), *passes(1)) == [
        "[FIRING critical] budget: error budget burning 5x > 2x over 1h and 5m (scorer polite)"]


async def test_absence_says_the_scorer_stopped_and_when_results_are_back(engine: EngineFactory, clock: Clock,
                                                                        webhook: WebhookReceiver):
    manager = await engine({"name": "gone", "absent_for": "10m", "notify": ["hook"]})
    await summaries(manager, webhook)
    clock.advance(600)
    assert await summaries(manager, webhook) == [
        "[NO DATA critical] gone: no results for 10m, the scorer stopped (scorer polite)"]
    clock.advance(30)
    assert (await summaries(manager, webhook, score(1.0)))[1] == (
        "[RESOLVED] gone: results again (1 in the last 10m) (was critical for 30s; scorer polite)")


async def test_a_firing_alert_whose_window_empties(engine: EngineFactory, clock: Clock,
                                                   webhook: WebhookReceiver):
    manager = await engine({"name": "quiet", "scorer": "*", "failure_rate_above": 0.1, "window": "5m",
                            "no_data": "no_data", "notify": ["hook"]})
    await summaries(manager, webhook, *failures(2))
    clock.advance(400)
    assert (await summaries(manager, webhook))[1] == (
        "[NO DATA critical] quiet: no results over 5m, nothing to judge (any scorer)")


async def test_a_behavior_event(engine: EngineFactory, clock: Clock, webhook: WebhookReceiver):
    log = MemoryBehaviorLog()
    manager = await engine({"name": "new-issues", "behavior": ["created", "regressed"], "notify": ["hook"]},
                           behavior_log=log)
    log.append(BehaviorEventKind.CREATED, "b-1", clock.now, name="Curt  replies", member_count=12,
               services=("support-bot",))
    log.append(BehaviorEventKind.REGRESSED, "b-2", clock.now, name="refuses refunds", member_count=1)
    assert sorted(await summaries(manager, webhook)) == [  # one tick: the outbox sends them in any order
        '[BEHAVIOR critical] new-issues on support-bot: new behavior "Curt replies" (12 failures, '
        'scorer polite)',
        '[BEHAVIOR critical] new-issues: behavior "refuses refunds" is back (regressed) (1 failure, '
        'scorer polite)']


def test_a_corrected_failure_rate_and_a_test_notification():
    condition = parse_condition(Section({"scorer": "Politeness", "corrected_failure_rate_above": 0.1,
                                         "window": "15m"}, "alerts[0]"))
    assert condition is not None
    common: dict[str, Any] = {"alert": "judge-drop", "condition": condition, "severity": Severity.CRITICAL,
                              "labels": {"scorer": "Politeness"}, "previous_since": None, "at": 0.0,
                              "threshold": 0.1}
    firing = score_alert_summary(kind=NotificationKind.FIRING, previous_state="pending", observed=0.2345,
                                 **common)
    assert firing == ("[FIRING critical] judge-drop: corrected failure rate 23.4% > 10% over 15m "
                      "(scorer Politeness)")
    trial = score_alert_summary(kind=NotificationKind.TEST, previous_state="test", observed=None, **common)
    assert trial == ("[TEST] judge-drop: test notification; it fires on corrected failure rate above 10% "
                     "over 15m (scorer Politeness)")


async def test_slack_and_email_show_a_recovery_once(engine: EngineFactory, clock: Clock,
                                                   webhook: WebhookReceiver):
    """The summary says RESOLVED itself: no ``*Resolved:*`` / ``RESOLVED:`` prefix doubling it."""
    manager = await engine({"name": "rude-answer", "score_below": 0.5, "notify": ["hook"]})
    await summaries(manager, webhook, score(0.2))
    clock.advance(301)
    await summaries(manager, webhook)
    resolved = webhook.accepted(state="resolved")[0]
    notification = notification_from_json(json.dumps(resolved))  # the receiver got the notification as is
    message = slack_message(notification)
    assert message["text"] == ":white_check_mark: " + resolved["summary"]
    assert message["blocks"][1]["text"]["text"] == resolved["summary"].replace(">", "&gt;")
    email = email_message(notification, "judgeval <a@example.com>", ("b@example.com",))
    assert email["Subject"] == resolved["summary"]
    assert email.get_body(("plain",)).get_content().splitlines()[0] == resolved["summary"]
