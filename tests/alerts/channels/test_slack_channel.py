"""The Slack channel against a real local receiver: the Block Kit message field by field, firing and
resolved, links to the failing traces and the issue, escaping, and the webhook URL kept secret."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import unquote

from evaluator_service.alerts.notification import AlertExample, NotificationKind, Severity

from .channel_configs import make_channel
from .http_receiver import Answer, HttpReceiver
from .notifications import SPAN_ID, TRACE_ID, notification, resolved

PATH = "/services/T0001/B0002/slack-token-abc123"


async def send(client, n, answers=None):
    async with HttpReceiver(answers) as receiver:
        env = {"SLACK_URL": receiver.url(PATH)}
        channel = make_channel("oncall", {"type": "slack", "url": "${env:SLACK_URL}"}, client, env)
        attempt = await channel.send(n)
    return channel, attempt, receiver.requests


async def test_a_firing_message_says_what_how_bad_and_links_to_traces_and_issue(client):
    channel, attempt, [request] = await send(client, notification())
    assert attempt.ok and request.path == PATH and request.headers["Content-Type"] == "application/json"
    assert channel.name == "slack:oncall"
    body = request.json()
    assert body["text"] == (":red_circle: [FIRING critical] politeness-drop on support-bot: failure rate "
                            "35% > 20% over 5m (scorer Politeness)")
    header, summary, facts, condition, labels, traces, actions = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text",
                                                 "text": ":red_circle: FIRING: politeness-drop"}}
    assert summary == {"type": "section", "text": {"type": "mrkdwn", "text": (
        "[FIRING critical] politeness-drop on support-bot: failure rate 35% &gt; 20% over 5m "
        "(scorer Politeness)")}}
    assert facts == {"type": "section", "fields": [
        {"type": "mrkdwn", "text": "*Severity*\ncritical"},
        {"type": "mrkdwn", "text": "*State*\nfiring (was pending)"},
        {"type": "mrkdwn", "text": "*Observed*\n35%"},
        {"type": "mrkdwn", "text": "*Threshold*\n20%"},
    ]}
    assert condition == {"type": "section", "text": {
        "type": "mrkdwn", "text": "*Condition*\nfailure rate above 20% over 5m (at least 20 results)"}}
    assert labels == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "*agent:* triage"}, {"type": "mrkdwn", "text": "*scorer:* Politeness"},
        {"type": "mrkdwn", "text": "*service:* support-bot"}]}
    assert traces == {"type": "section", "text": {"type": "mrkdwn", "text": (
        "*Failing traces*\n"
        f"• <http://jaeger:16686/trace/{TRACE_ID}|trace {TRACE_ID[:16]}> (support-bot) — rude &lt;reply&gt; "
        "&amp; curt\n"
        f"• trace `{'a' * 32}` (support-bot)")}}
    assert actions == {"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Open issue"},
         "url": "http://console:8080/behaviors/b-12"},
        {"type": "button", "text": {"type": "plain_text", "text": "Open console"},
         "url": "http://console:8080/alerts/x"},
        {"type": "button", "text": {"type": "plain_text", "text": "Open trace"},
         "url": f"http://jaeger:16686/trace/{TRACE_ID}"},
    ]}


async def test_a_resolved_message_says_so(client):
    _, attempt, [request] = await send(client, resolved(notification()))
    body = request.json()
    assert attempt.ok
    assert body["text"].startswith(":white_check_mark: [RESOLVED] politeness-drop on support-bot: ")
    header, summary, facts, *_ = body["blocks"]
    assert header["text"]["text"] == ":white_check_mark: RESOLVED: politeness-drop"
    assert summary["text"]["text"] == ("[RESOLVED] politeness-drop on support-bot: failure rate back to 5% "
                                       "over 5m (was critical for 12m; scorer Politeness)")  # said once
    assert facts["fields"][1]["text"] == "*State*\nresolved (was firing)"
    assert "*Traces that contributed*" in body["blocks"][5]["text"]["text"]


async def test_a_bare_notification_gets_only_the_blocks_it_has(client):
    bare = replace(notification(), kind=NotificationKind.NO_DATA, severity=Severity.WARNING, observed=None,
                   threshold=None, labels={}, examples=(), links={})
    _, _, [request] = await send(client, bare)
    blocks = request.json()["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section"]
    assert blocks[0]["text"]["text"] == ":large_orange_circle: NO DATA: politeness-drop"
    assert blocks[2]["fields"][2:] == [{"type": "mrkdwn", "text": "*Observed*\nn/a"},
                                       {"type": "mrkdwn", "text": "*Threshold*\nn/a"}]


async def test_long_texts_are_cut_to_slacks_limits(client):
    long = notification(alert="a" * 300, summary="s" * 5000)
    _, attempt, [request] = await send(client, long)
    blocks = request.json()["blocks"]
    assert attempt.ok
    assert len(blocks[0]["text"]["text"]) == 150 and blocks[0]["text"]["text"].endswith("…")
    assert len(blocks[1]["text"]["text"]) == 3000


async def test_slack_refusals_name_the_reason_but_never_the_url(client):
    channel, attempt, _ = await send(client, notification(), [Answer(404, "no_service")])
    assert not attempt.ok and not attempt.retryable
    assert attempt.detail == "HTTP 404: no_service"
    assert "slack-token" not in channel.destination and channel.destination.endswith("/...")


HOSTILE_TRACE = f"http://jaeger:16686/trace/{TRACE_ID}?service=a|b>c<d&x=1 2"
HOSTILE_ISSUE = "http://console:8080/issues?scorer=tone|check>&page=2"


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_links(mrkdwn: str) -> list[tuple[str, str]]:
    """The ``<url|text>`` links of ``mrkdwn`` read as Slack reads them: a link runs from ``<`` to the next
    ``>``, its URL to the first ``|``; entities decoded. A ``<`` or ``>`` outside a link is broken markup."""
    tokens = re.findall(r"<([^<>]*)>", mrkdwn)
    rest = re.sub(r"<[^<>]*>", "", mrkdwn)
    assert "<" not in rest and ">" not in rest, f"unbalanced link markup in {mrkdwn!r}"
    return [(unescape(url), unescape(text)) for url, _, text in (t.partition("|") for t in tokens)]


async def test_a_pipe_or_angle_bracket_in_a_link_cannot_break_the_message(client):
    hostile = notification(
        examples=(AlertExample(TRACE_ID, SPAN_ID, "support-bot", "why", HOSTILE_TRACE),),
        links={"issue": HOSTILE_ISSUE})
    _, attempt, [request] = await send(client, hostile)
    assert attempt.ok
    body = request.json()
    [traces] = [b["text"]["text"] for b in body["blocks"]
                if b.get("text", {}).get("text", "").startswith("*Failing traces*")]
    [(url, text)] = slack_links(traces)
    assert text == f"trace {TRACE_ID[:16]}"
    assert url == f"http://jaeger:16686/trace/{TRACE_ID}?service=a%7Cb%3Ec%3Cd&x=1%202"
    assert unquote(url) == HOSTILE_TRACE  # the same address, only encoded
    [actions] = [b for b in body["blocks"] if b["type"] == "actions"]
    assert {e["text"]["text"]: e["url"] for e in actions["elements"]} == {
        "Open issue": "http://console:8080/issues?scorer=tone%7Ccheck%3E&page=2", "Open trace": url}


async def test_escaped_texts_are_cut_between_entities_and_examples_between_lines(client):
    long_link = "http://jaeger:16686/trace/" + "x" * 900 + "?a=1&b=2"
    examples = tuple(AlertExample(f"{i:032x}", SPAN_ID, "support-bot", "r & r", long_link) for i in range(5))
    _, attempt, [request] = await send(client, notification(summary="&" * 5000, examples=examples))
    assert attempt.ok
    blocks = request.json()["blocks"]
    summary = blocks[1]["text"]["text"]
    assert summary.endswith("…") and re.fullmatch(r"(&amp;)+", summary[:-1])
    [traces] = [b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith("*Failing")]
    assert len(traces) <= 3000
    links = slack_links(traces)
    assert [text for _, text in links] == [f"trace {i:032x}"[:22] for i in range(len(links))]
    assert 1 <= len(links) < 5 and all(url == long_link for url, _ in links)
