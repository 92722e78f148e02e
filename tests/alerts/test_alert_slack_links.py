"""A score alert's Slack message as the engine really sends it: channel built from a ``channels:`` section,
posted to a local receiver; it links to the failing traces (the trace backend's URL from ``link_template``)
and to the scorer's issues (``issue_link_template``), on firing and on resolved."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from evaluator_service.alerts.channels import build_channel, http_client
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.state import SharedState

from .channels.channel_configs import channel_config
from .channels.http_receiver import HttpReceiver
from .engine_harness import Clock, alerts, score

SCORER = "tone check"
TEMPO = "http://grafana:3000/explore/traces?traceId={trace_id}&service={service_name}"
RULE = {"name": "rude-replies", "scorer": SCORER, "failure_rate_above": 0.5, "window": "5m", "min_count": 2,
        "link_template": TEMPO, "issue_link_template": "http://console:8080/issues?scorer={scorer}",
        "notify": ["oncall"]}


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with http_client() as c:
        yield c


def buttons(body: dict) -> dict[str, str]:
    [actions] = [b for b in body["blocks"] if b["type"] == "actions"]
    return {e["text"]["text"]: e["url"] for e in actions["elements"]}


async def test_a_score_alert_on_slack_links_the_failing_traces_and_the_scorers_issues(
        sqlite_state: SharedState, clock: Clock, client: aiohttp.ClientSession):
    traces = ["1a" * 16, "2b" * 16]
    async with HttpReceiver() as slack:
        config = channel_config("oncall", {"type": "slack", "url": "${env:SLACK_URL}"},
                                {"SLACK_URL": slack.url("/services/T1/B2/secret")})
        manager = AlertManager(alerts(RULE, channels=("oncall",)),
                               channels={"oncall": build_channel(config, client)}, clock=clock)
        await manager.open(sqlite_state)
        assert manager.worker is not None
        for trace in traces:
            manager.record(score(0.0, scorer=SCORER, trace=trace))
        await manager.tick()
        await manager.worker.run_once()
        for _ in range(6):  # 2 of 8 fail now: resolved
            manager.record(score(1.0, scorer=SCORER))
        clock.advance(1)
        await manager.tick()
        await manager.worker.run_once()
    fired, resolved = (r.json() for r in slack.requests)
    links = [TEMPO.format(trace_id=t, service_name="support-bot") for t in reversed(traces)]  # newest first
    [failing] = [b["text"]["text"] for b in fired["blocks"] if b["type"] == "section"
                 and b.get("text", {}).get("text", "").startswith("*Failing traces*")]
    assert failing == "*Failing traces*\n" + "\n".join(  # the template's "&" escaped as Slack documents
        f"• <{link.replace('&', '&amp;')}|trace {link.split('=')[1][:16]}> (support-bot) — {SCORER} = 0"
        for link in links)
    issues = "http://console:8080/issues?scorer=tone%20check"
    assert buttons(fired) == {"Open trace": links[0], "Open issue": issues}
    assert fired["text"].startswith(":red_circle: [FIRING critical] rude-replies: failure rate 100% > 50%")
    assert resolved["text"].startswith(":white_check_mark: [RESOLVED] rude-replies: failure rate back to")
    assert buttons(resolved) == {"Open issue": issues}  # the examples belong to the firing message


async def test_a_hostile_service_name_is_quoted_in_the_trace_link(
        sqlite_state: SharedState, clock: Clock, client: aiohttp.ClientSession):
    # The service name comes from the traced application: "&x=1" must not become a query parameter, and a
    # space or "|" must not break the URL.
    service = "support bot|eu&x=1"
    async with HttpReceiver() as slack:
        config = channel_config("oncall", {"type": "slack", "url": "${env:SLACK_URL}"},
                                {"SLACK_URL": slack.url("/services/T1/B2/secret")})
        manager = AlertManager(alerts({**RULE, "service": service}, channels=("oncall",)),
                               channels={"oncall": build_channel(config, client)}, clock=clock)
        await manager.open(sqlite_state)
        assert manager.worker is not None
        for trace in ("1a" * 16, "2b" * 16):
            manager.record(score(0.0, scorer=SCORER, trace=trace, service__name=service))
        await manager.tick()
        await manager.worker.run_once()
    [fired] = (r.json() for r in slack.requests)
    assert buttons(fired)["Open trace"] == ("http://grafana:3000/explore/traces?traceId=" + "2b" * 16
                                            + "&service=support%20bot%7Ceu%26x%3D1")
