"""Every channel's documented payload (the README's examples) against what the engine really sends.

One scenario runs through the real path: score results on real spans (with the scorer's own reasons) are
folded into an alert, the state machine fires and later resolves it over SQLite, and the outbox worker
delivers to a webhook, Slack, PagerDuty and Opsgenie receiver (local HTTP) and an SMTP server (aiosmtpd).
Each captured body is compared field by field with the README's example: keys, types and values; the
random event id and episode key only by format (they are swapped for the README's before comparing).
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
import yaml
from judgeval import semconv
from judgeval.protocol.otlp_values import to_any_value
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from evaluator_service.alerts.channels import parse_channels
from evaluator_service.alerts.channels.email_body import message_id
from evaluator_service.alerts.events import score_events
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.config_values import Section
from evaluator_service.scoring.contract import ScoreOutcome, ScoreResult
from evaluator_service.state import SharedState

from .channels.channel_configs import FAST
from .channels.http_receiver import HttpReceiver, Received
from .channels.smtp_receiver import SmtpReceiver
from .documented_payloads import (
    EPISODE_KEY,
    EVENT_ID,
    IdSubstitution,
    differences,
    documented_blocks,
    documented_json,
)
from .engine_harness import Clock, alerts

AT = 1_796_000_000.25
"""When the documented alert fires (``at`` of the examples)."""
ROUTING_KEY = "<the value of PAGERDUTY_ROUTING_KEY>"
FAILING = [("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "Told the customer to read the manual"),
           ("9d2c41e07a5b4f3c8e1d6a0b7c3f2e19", "3a7c1e9b5d2f4a60", "Curt reply, no greeting")]
"""(trace, span, the scorer's reason) of the two failing answers; the first one fails last."""
ALERT = yaml.safe_load(documented_blocks()["alert"])["alerts"][0]
"""The README's alert of the examples (``politeness-drop``: failure rate above 0.1 over 5m, ``for: 1m``)."""


@dataclass
class Sent:
    """What each receiver got: the firing notification first, then the resolved one."""

    webhook: list[Received]
    slack: list[Received]
    pagerduty: list[Received]
    opsgenie: list[Received]
    email: list[EmailMessage]


def scored(trace: str, span_id: str, value: float, reason: str) -> list[Any]:
    """The score events the dispatcher hands the engine for one answer scored by ``Politeness``."""
    span = Span(trace_id=bytes.fromhex(trace), span_id=bytes.fromhex(span_id), name="answer")
    span.attributes.add(key=semconv.GEN_AI_AGENT_NAME, value=to_any_value("triage"))
    resource = Resource()
    resource.attributes.add(key=semconv.SERVICE_NAME, value=to_any_value("support-bot"))
    result = ScoreResult("Politeness", 0.5, ScoreOutcome(value, reason))
    return score_events(span, [result], ResourceSpans(resource=resource).SerializeToString())


def channels(hook: HttpReceiver, slack: HttpReceiver, pager: HttpReceiver, genie: HttpReceiver,
             smtp: SmtpReceiver) -> dict[str, Any]:
    entries = {
        "ops-hook": {"type": "webhook", "url": hook.url("/judgeval")},
        "oncall-slack": {"type": "slack", "url": "${env:SLACK_WEBHOOK_URL}"},
        "pager": {"type": "pagerduty", "routing_key": "${env:PAGERDUTY_ROUTING_KEY}",
                  "url": pager.url("/v2/enqueue")},
        "genie": {"type": "opsgenie", "api_key": "${env:OPSGENIE_API_KEY}", "url": genie.url(),
                  "tags": ["ai-agents"], "responders": [{"type": "team", "name": "ml-oncall"}]},
        "oncall-email": {"type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
                         "from": "judgeval <alerts@example.com>", "to": ["oncall@example.com"]},
    }
    environ = {"SLACK_WEBHOOK_URL": slack.url("/services/T000/B000/XXXX"),
               "PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "OPSGENIE_API_KEY": "genie-key-0123"}
    return parse_channels(Section({k: {**FAST, **v} for k, v in entries.items()}, "channels"), environ)


@pytest.fixture
async def sent(sqlite_state: SharedState) -> AsyncIterator[Sent]:
    """Ten answers, two impolite: 0.2 > 0.1 fires after ``for: 1m``; ten polite ones 12 minutes later resolve
    it."""
    clock = Clock(AT - 60)
    async with (HttpReceiver() as hook, HttpReceiver() as slack, HttpReceiver() as pager,
                HttpReceiver() as genie, SmtpReceiver() as smtp):
        manager = AlertManager(alerts(ALERT, channels=ALERT["notify"]),
                               channel_configs=channels(hook, slack, pager, genie, smtp), clock=clock)
        await manager.open(sqlite_state)
        assert manager.worker is not None

        async def judge(answers: list[tuple[str, str, float, str]]) -> None:
            for trace, span, value, reason in answers:
                for event in scored(trace, span, value, reason):
                    manager.record(event)
            await manager.tick()
            while await manager.worker.run_once():  # type: ignore[union-attr]
                pass

        polite = [(f"{i:032x}", f"{i:016x}", 1.0, "Greets and thanks the customer") for i in range(1, 21)]
        await judge(polite[:8] + [(t, s, 0.0, r) for t, s, r in reversed(FAILING)])  # pending
        clock.advance(60)
        await judge([])  # held for a minute: firing
        clock.advance(720)
        await judge(polite[8:18])  # twelve minutes later, ten polite answers alone in the window: resolved
        await manager.stop()
        yield Sent(hook.requests, slack.requests, pager.requests, genie.requests,
                   [d.message for d in smtp.delivered])


def ids(sent: Sent) -> IdSubstitution:
    """The README's event id and episode key for the real ones (the firing notification's)."""
    firing = sent.webhook[0].json()
    documented = documented_json("webhook")
    swap = IdSubstitution()
    swap.add(firing["event_id"], documented["event_id"], EVENT_ID)
    swap.add(firing["dedup_key"], documented["dedup_key"], EPISODE_KEY)
    return swap


def assert_documented(name: str, body: Any, swap: IdSubstitution, *encodings: Any) -> None:
    found = differences(documented_json(name), swap.json(body, *encodings))
    assert not found, f"README payload example {name!r} differs from what is sent:\n" + "\n".join(found)


async def test_each_channel_sent_one_firing_and_one_resolved(sent: Sent):
    counts = [len(r) for r in (sent.webhook, sent.slack, sent.pagerduty, sent.opsgenie, sent.email)]
    assert counts == [2, 2, 2, 2, 2]
    assert [r.json()["kind"] for r in sent.webhook] == ["firing", "resolved"]


async def test_the_webhook_body_is_the_documented_one(sent: Sent):
    assert_documented("webhook", sent.webhook[0].json(), ids(sent))


async def test_the_alert_carries_the_reason_and_trace_of_the_latest_failing_answer(sent: Sent):
    body = sent.webhook[0].json()
    trace, span, reason = FAILING[0]
    assert body["reason"] == reason
    assert body["examples"][0] == {"trace_id": trace, "span_id": span, "service_name": "support-bot",
                                   "reason": reason, "link": f"http://jaeger:16686/trace/{trace}"}
    assert body["links"]["trace"] == f"http://jaeger:16686/trace/{trace}"
    assert sent.webhook[1].json()["reason"] is None  # a recovery breaches nothing


async def test_the_slack_message_is_the_documented_one(sent: Sent):
    """Compared as Slack shows it: ``&amp;``, ``&lt;`` and ``&gt;`` in text are Slack's own escapes."""
    message = ids(sent).json(sent.slack[0].json())
    found = differences(_unescaped(documented_json("slack")), _unescaped(message))
    assert not found, "README payload example 'slack' differs from what is sent:\n" + "\n".join(found)


def _unescaped(value: Any) -> Any:
    if isinstance(value, str):
        return html.unescape(value)
    if isinstance(value, dict):
        return {k: _unescaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescaped(v) for v in value]
    return value


async def test_pagerduty_trigger_and_resolve_are_the_documented_ones(sent: Sent):
    swap = ids(sent)
    trigger, resolve = (r.json() for r in sent.pagerduty)
    assert_documented("pagerduty-trigger", trigger, swap)
    assert_documented("pagerduty-resolve", resolve, swap)
    assert trigger["dedup_key"] == resolve["dedup_key"] == sent.webhook[0].json()["dedup_key"]


async def test_opsgenie_create_and_close_are_the_documented_ones(sent: Sent):
    swap = ids(sent)
    create, close = sent.opsgenie
    assert create.path == "/v2/alerts"
    assert_documented("opsgenie-create", create.json(), swap)
    dedup_key = sent.webhook[0].json()["dedup_key"]
    assert (close.path, close.query) == (f"/v2/alerts/{dedup_key}/close", {"identifierType": "alias"})
    assert_documented("opsgenie-close", close.json(), swap)


async def test_the_email_is_the_documented_one(sent: Sent):
    swap = ids(sent)
    headers, _, text = documented_blocks()["email"].partition("\n\n")
    message = sent.email[0]
    for line in headers.splitlines():
        name, _, value = line.partition(": ")
        assert swap.text(str(message[name]), message_id) == value, f"README e-mail header {name}"
    assert swap.text(message.get_body(("plain",)).get_content()).replace("\r\n", "\n") == text
