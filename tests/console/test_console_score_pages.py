"""The console's score pages over real HTTP, from the counters the real pipeline recorded: the overview
(per scorer and agent, range selection), failing interactions (filters, pagination, links to the trace
and the issue) and not evaluated (reasons and samples); on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.behaviors.failing_spans import PII, REFUND

from .console_stack import ADMIN_KEY, UNKNOWN, FedEvaluator
from .test_console_http import client, login


@pytest.fixture
async def http(fed: FedEvaluator) -> AsyncIterator[aiohttp.ClientSession]:
    async with client(fed.base_url) as session:
        assert (await login(session, ADMIN_KEY)).status == 303
        yield session


def row_of(page: str, name: str) -> str:
    """The table row whose header cell links ``name``."""
    header = rf"<th scope=\"row\"><a href=\"[^\"]*\">{re.escape(name)}</a></th>"
    match = re.search(rf"<tr>\s*{header}(.*?)</tr>", page, re.S)
    assert match, f"no row for {name}"
    return match.group(1)


def cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


async def test_overview_counts_per_scorer_and_agent(fed: FedEvaluator, http: aiohttp.ClientSession) -> None:
    page = await (await http.get("/")).text()
    # refund_keyword: 3 failures and 2 passes; no_pii: 2 failures
    assert cells(row_of(page, REFUND))[:4] == ["5", "40.0%", "3", "0"]
    assert cells(row_of(page, PII))[:4] == ["2", "0.0%", "2", "0"]
    assert cells(row_of(page, UNKNOWN))[:4] == ["1", "—", "0", "1"]  # a scoring error, not a failure
    assert cells(row_of(page, "triage-agent"))[:3] == ["3", "0.0%", "3"]
    assert cells(row_of(page, "accounts-agent"))[:4] == ["3", "0.0%", "2", "1"]
    assert cells(row_of(page, "refund-agent"))[:3] == ["2", "100.0%", "0"]
    assert f'href="/failing?scorer={REFUND}&amp;outcome=failed"' in page
    assert 'href="/not-evaluated?range=24h">1</a>' in page  # the unknown scorer's span
    for chart in ("pass-by-scorer", "volume", "distribution", "pass-by-agent"):
        assert f'id="{chart}-spec"' in page
    label = re.search(r'aria-label="Pass rate per scorer: ([^"]*)"', page)
    assert label and label.group(1) == ("no_pii: 0.0% over the range; no_such_scorer: — over the range; "
                                        "refund_keyword: 40.0% over the range")
    filtered = await (await http.get(f"/?range=1h&scorer={PII}")).text()
    assert re.search(r"<option value=\"1h\" selected>", filtered)
    assert PII in filtered and f">{REFUND}</a></th>" not in filtered
    bad = await http.get("/?range=1y")
    assert bad.status == 400 and "range must be one of 1h, 6h, 24h, 7d, 30d" in await bad.text()


async def test_failing_interactions_filter_paginate_and_link(fed: FedEvaluator, http: aiohttp.ClientSession
                                                             ) -> None:
    state = fed.app._state
    assert state is not None
    behaviors = {b.scorer: b for b in await state.behaviors() if b.kind == "failure"}
    page = await (await http.get("/failing")).text()
    # five failures and the unknown scorer's scoring error
    assert page.count('rel="noopener noreferrer" target="_blank" aria-label="trace ') == 6
    assert "error: unknown_scorer" in page
    for name in ("no-refund-0", "no-refund-2", "pii-1"):
        assert f"http://jaeger.test:16686/trace/{fed.traces[name]}?uiFind=" in page
    assert "manager1@example.com &lt;b&gt;call&lt;/b&gt;" in page  # output shown as text
    assert "personal data found: email" in page and "Who handles my account?" in page
    assert f'href="/issues/{behaviors[PII].id}"' in page
    only_pii = await (await http.get("/failing?service=accounts-bot&agent=accounts-agent")).text()
    assert only_pii.count("aria-label=\"trace ") == 3 and "cannot do anything" not in only_pii
    by_issue = await (await http.get(f"/failing?behavior={behaviors[REFUND].id}&range=1h")).text()
    assert by_issue.count("aria-label=\"trace ") == 3
    assert (await (await http.get("/failing?min_score=0.5")).text()).count("aria-label=\"trace ") == 0
    errors = await (await http.get("/failing?outcome=error")).text()
    assert errors.count("aria-label=\"trace ") == 1 and fed.traces["unknown-0"] in errors
    bad = await http.get("/failing?min_score=lots")
    assert bad.status == 400 and "min score must be a number, got &#39;lots&#39;" in await bad.text()


async def test_failing_pages_are_walked_with_a_cursor(fed: FedEvaluator, http: aiohttp.ClientSession,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from evaluator_service.console import failing_pages

    monkeypatch.setattr(failing_pages, "PAGE_SIZE", 2)
    seen: list[str] = []
    url: str | None = f"/failing?scorer={REFUND}"
    while url:
        page = await (await http.get(url.replace("&amp;", "&"))).text()
        seen += re.findall(r"/trace/([0-9a-f]{32})\?", page)
        found = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = found.group(1) if found else None
    assert sorted(seen) == sorted(fed.traces[f"no-refund-{n}"] for n in range(3))
    damaged = await http.get("/failing?cursor=%%%")
    assert damaged.status == 400


async def test_not_evaluated_shows_reasons_and_samples(fed: FedEvaluator, http: aiohttp.ClientSession
                                                       ) -> None:
    page = await (await http.get("/not-evaluated")).text()
    assert "unknown_scorer" in page and "no scorer of that name" in page
    assert f"http://jaeger.test:16686/trace/{fed.traces['unknown-0']}?uiFind=" in page
    assert UNKNOWN in page and "accounts-bot" in page
    assert 'id="not-evaluated-spec"' in page and "unknown_scorer: 1" in page
    none = await (await http.get("/not-evaluated?reason=timeout&range=6h")).text()
    assert "Every span that asked for a score in this range got one." in none
