"""A score alert links to the exact issue its breaching span is in, on SQLite and PostgreSQL.

The behaviors engine remembers where it placed every failure ((kind, scorer, trace id, span id) →
behavior, :mod:`evaluator_service.state.behavior_placements`). With ``behavior_link_template`` the alert
engine looks the breaching example's span up there, follows an operator's merges, and every channel that
shows links (webhook ``links.issue``, the Slack button, PagerDuty ``links``, Opsgenie, the e-mail) points
at that issue; a span that was not placed keeps the scorer's issue list. Real engine, real channels, local
HTTP and SMTP receivers.

Before the lookup, ``links.issue`` was always the scorer's list (``/issues?scorer=...``)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from evaluator_service.alerts.channels import parse_channels
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.config_values import Section
from evaluator_service.state import SharedState, open_shared_state
from tests.behaviors.lifecycle_support import LATE, LEAK, T0, failure, near
from tests.support.postgres_cluster import PostgresCluster

from .channels.channel_configs import FAST
from .channels.http_receiver import HttpReceiver
from .channels.smtp_receiver import SmtpReceiver
from .engine_harness import Clock, alerts, score

SCORER = "refund_keyword"
"""The scorer of :func:`tests.behaviors.lifecycle_support.failure`'s drafts."""
ISSUE = "http://console:8080/issues/{behavior_id}"
ISSUES = "http://console:8080/issues?scorer={scorer}"
ALERT = {"name": "refunds", "scorer": SCORER, "failure_rate_above": 0.3, "window": "5m",
         "link_template": "http://jaeger:16686/trace/{trace_id}", "issue_link_template": ISSUES,
         "behavior_link_template": ISSUE, "notify": ["hook", "slack", "pager", "genie", "mail"]}


@pytest.fixture(params=["sqlite", "postgresql"])
async def state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SharedState]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.url(cluster.new_database())
    shared = open_shared_state(url)
    await shared.open()
    yield shared
    await shared.close()


@dataclass
class IssueLinks:
    """``links.issue`` as each channel showed it in the firing notification."""

    webhook: str
    slack: str
    pagerduty: str
    opsgenie: str
    email: str


async def fire(state: SharedState, *failing: int) -> IssueLinks:
    """Two passing answers and the ``failing`` spans (numbered as the drafts are, the last one the latest)
    judged by a real engine; what each channel linked as the issue."""
    async with (HttpReceiver() as hook, HttpReceiver() as slack, HttpReceiver() as pager,
                HttpReceiver() as genie, SmtpReceiver() as smtp):
        manager = AlertManager(alerts(ALERT, channels=ALERT["notify"]),
                               channel_configs=_channels(hook, slack, pager, genie, smtp), clock=Clock(T0))
        await manager.open(state)
        assert manager.worker is not None
        for event in [score(1.0, scorer=SCORER), score(1.0, scorer=SCORER),
                      *(dataclasses.replace(score(0.0, scorer=SCORER, trace=f"{n:032x}"), span_id=f"{n:016x}")
                        for n in failing)]:
            manager.record(event)
        await manager.tick()
        while await manager.worker.run_once():
            pass
        await manager.stop()
    return IssueLinks(
        webhook=hook.requests[0].json()["links"]["issue"],
        slack=_button(slack.requests[0].json(), "Open issue"),
        pagerduty=next(link["href"] for link in pager.requests[0].json()["links"] if link["text"] == "issue"),
        opsgenie=genie.requests[0].json()["details"]["link.issue"],
        email=_email_issue(smtp.delivered[0].message))


def _channels(hook: HttpReceiver, slack: HttpReceiver, pager: HttpReceiver, genie: HttpReceiver,
              smtp: SmtpReceiver) -> dict[str, Any]:
    entries = {"hook": {"type": "webhook", "url": hook.url("/judgeval")},
               "slack": {"type": "slack", "url": "${env:SLACK_WEBHOOK_URL}"},
               "pager": {"type": "pagerduty", "routing_key": "${env:PAGERDUTY_ROUTING_KEY}",
                         "url": pager.url("/v2/enqueue")},
               "genie": {"type": "opsgenie", "api_key": "${env:OPSGENIE_API_KEY}", "url": genie.url()},
               "mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
                        "from": "alerts@example.com", "to": ["oncall@example.com"]}}
    environ = {"SLACK_WEBHOOK_URL": slack.url("/services/T0/B0/X"), "PAGERDUTY_ROUTING_KEY": "key",
               "OPSGENIE_API_KEY": "genie-key"}
    return parse_channels(Section({k: {**FAST, **v} for k, v in entries.items()}, "channels"), environ)


def _button(message: dict[str, Any], text: str) -> str:
    return next(element["url"] for block in message["blocks"] if block["type"] == "actions"
                for element in block["elements"] if element["text"]["text"] == text)


def _email_issue(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()
    return next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("  issue: "))


def everywhere(url: str) -> IssueLinks:
    return IssueLinks(url, url, url, url, url)


async def test_the_breaching_span_links_to_the_issue_it_was_placed_in(state: SharedState):
    late = await state.record_failure(failure(LATE, T0, n=1), near)
    leak = await state.record_failure(failure(LEAK, T0, n=2), near)
    assert late.behavior.id != leak.behavior.id
    # The latest failing answer (span 1) breached: its issue, not the other failure's, not the list.
    assert await fire(state, 2, 1) == everywhere(ISSUE.format(behavior_id=late.behavior.id))


async def test_an_issue_merged_by_an_operator_links_to_where_it_went(state: SharedState):
    late = await state.record_failure(failure(LATE, T0, n=1), near)
    leak = await state.record_failure(failure(LEAK, T0, n=2), near)
    await state.merge_behaviors(late.behavior.id, leak.behavior.id)
    assert await fire(state, 1) == everywhere(ISSUE.format(behavior_id=leak.behavior.id))


async def test_a_span_not_placed_links_to_the_scorers_issues(state: SharedState):
    await state.record_failure(failure(LATE, T0, n=1), near)
    assert await fire(state, 3) == everywhere(ISSUES.format(scorer=SCORER))
