"""The console in real headless Chromium against a real evaluator fed by the real pipeline: the login form,
every page rendering (charts drawn by Plotly.js from our own /static), filters and links, the read-only
key, a narrow window. Screenshots of each page are kept under tests/artifacts/console/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.behaviors.failing_spans import PII, REFUND

from .browser import chromium, require_browser, screenshot
from .console_stack import ADMIN_KEY, ALERT, READ_KEY, UPLOADED, FedEvaluator, fed_evaluator

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def fed(make_config: Any, receiver: Any, webhook: Any) -> AsyncIterator[FedEvaluator]:
    require_browser()
    async with fed_evaluator(make_config, receiver, webhook) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    require_browser()
    async with chromium() as launched:
        yield launched


async def log_in(page: Any, base_url: str, key: str, path: str = "/") -> None:
    await page.goto(base_url + path)
    assert "/login" in page.url
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state("load")


async def test_login_refuses_wrong_keys_and_every_page_renders(fed: FedEvaluator, browser: Any) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(fed.base_url + "/issues")
    assert "/login" in page.url
    await screenshot(page, "login")
    await page.get_by_label("API key").fill("wrong-key-123")
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("alert").wait_for()
    assert "not the evaluator's admin key" in await page.get_by_role("alert").inner_text()
    assert "/login" in page.url and ADMIN_KEY not in page.url
    await page.get_by_label("API key").fill(ADMIN_KEY)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(fed.base_url + "/issues")  # back where the login started
    assert ADMIN_KEY not in page.url
    cookie = next(c for c in await context.cookies() if c["name"] == "judgeval_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    table = page.get_by_role("table")
    assert await table.get_by_role("link", name=REFUND).count() >= 1
    await screenshot(page, "issues")
    # The scorer filter narrows the list and keeps its choice.
    await page.get_by_label("Scorer", exact=True).select_option(PII)
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url(f"**/issues?*scorer={PII}*")
    assert await page.get_by_role("row").count() == 2  # header + the one PII issue
    assert await table.get_by_role("link", name=REFUND).count() == 0
    # The issue's page: facts, a drawn Plotly chart, examples linking to their traces.
    await page.get_by_role("row").nth(1).get_by_role("link").first.click()
    await page.wait_for_url("**/issues/*")
    await page.locator(".chart[data-drawn=true]").wait_for()
    assert await page.locator(".chart .main-svg").count() >= 1  # Plotly drew SVG
    assert "members per hour" in (await page.locator(".chart").get_attribute("aria-label") or "")
    trace_links = page.get_by_role("link", name="trace ")
    hrefs = [await trace_links.nth(i).get_attribute("href") for i in range(await trace_links.count())]
    pii_traces = {fed.traces[f"pii-{n}"] for n in range(2)}
    assert hrefs and all(h.startswith("http://jaeger.test:16686/trace/") for h in hrefs)
    assert {h.split("/trace/")[1].split("?")[0] for h in hrefs} <= pii_traces
    await screenshot(page, "issue")

    await page.get_by_role("link", name="Alerts", exact=True).click()
    await page.get_by_role("cell", name="firing").first.wait_for()
    assert await page.get_by_text("hook: delivered").count() >= 1
    await page.get_by_role("link", name=ALERT).first.click()
    await page.wait_for_url(f"**/alerts?alert={ALERT}#history")
    await screenshot(page, "alerts")

    await page.get_by_role("link", name="Scorers", exact=True).click()
    await page.get_by_role("link", name="v1").click()
    source = page.get_by_label("source of package_scorer.py (read-only)")
    assert "<script>alert(1)</script>" in await source.inner_text()  # shown as text, never run
    assert UPLOADED in await page.get_by_role("heading", level=1).inner_text()
    await screenshot(page, "scorer-source")
    await page.go_back()
    assert await page.get_by_role("heading", name="Shadow comparisons").count() == 1
    await screenshot(page, "scorers")
    await page.get_by_role("link", name=UPLOADED, exact=True).click()  # the scorer's own page
    await page.get_by_role("heading", name="Promotions").wait_for()
    assert UPLOADED in await page.get_by_role("heading", level=1).inner_text()
    assert await page.get_by_role("heading", name="Dataset replays").count() == 1
    await screenshot(page, "scorer")
    await page.go_back()

    await page.get_by_role("link", name="Overview", exact=True).click()
    await page.wait_for_function("document.querySelectorAll('.chart[data-drawn=true]').length == 4")
    await screenshot(page, "overview")
    # The range picker reloads the page with the range chosen.
    await page.get_by_label("Range", exact=True).select_option("6h")
    await page.wait_for_url("**/?range=6h*")
    await page.locator(".chart[data-drawn=true]").first.wait_for()
    # Down from the overview: the scorer's failures, then the issue of one of them.
    await page.get_by_role("link", name="3", exact=True).first.click()
    await page.wait_for_url(f"**/failing?scorer={REFUND}&outcome=failed")
    assert await page.get_by_role("link", name="trace ").count() == 3
    await screenshot(page, "failing")
    await page.get_by_role("link", name="issue", exact=True).first.click()
    await page.wait_for_url("**/issues/*")
    assert REFUND in await page.locator(".facts").inner_text()
    # The failing list's own filters.
    await page.goto(fed.base_url + "/failing")
    await page.get_by_label("Service", exact=True).fill("accounts-bot")
    await page.get_by_label("Outcome", exact=True).select_option("error")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/failing?*outcome=error*")
    assert await page.get_by_role("link", name="trace ").count() == 1
    await page.get_by_role("link", name="Not evaluated", exact=True).click()
    await page.locator(".chart[data-drawn=true]").wait_for()
    assert await page.get_by_role("link", name="unknown_scorer").count() == 1
    await screenshot(page, "not-evaluated")
    assert errors == []
    await context.close()


async def test_read_only_key_and_a_narrow_window(fed: FedEvaluator, browser: Any) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()
    await log_in(page, fed.base_url, READ_KEY, "/issues")
    assert await page.get_by_text("read-only", exact=True).count() == 1
    link = page.get_by_role("table").get_by_role("link").first
    await link.click()
    await page.wait_for_url("**/issues/*")
    assert await page.get_by_role("button", name="Rename").count() == 0
    assert await page.get_by_text("Read-only session").count() == 1
    # The page fits the window: nothing but the scrollable table wrappers is wider than it.
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    await page.locator(".chart[data-drawn=true]").wait_for()
    await page.goto(fed.base_url + "/")
    await page.wait_for_function("document.querySelectorAll('.chart[data-drawn=true]').length == 4")
    assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    await screenshot(page, "overview-narrow")
    await page.go_back()
    box = await page.locator(".chart").bounding_box()
    assert box is not None and box["width"] <= 390
    await screenshot(page, "issue-narrow")
    await page.get_by_role("link", name="Alerts", exact=True).click()
    await screenshot(page, "alerts-narrow")
    # A write the page does not offer is refused by the server as well.
    status = await page.evaluate("""async () => {
        const csrf = document.querySelector('input[name=csrf]').value;
        const r = await fetch(location.origin + '/issues/x/dismiss', {method: 'POST',
            body: new URLSearchParams({csrf})});
        return r.status; }""")
    assert status == 403
    await context.close()


async def test_admin_renames_an_issue_in_the_browser(fed: FedEvaluator, browser: Any) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await log_in(page, fed.base_url, ADMIN_KEY, f"/issues?scorer={REFUND}")
    await page.get_by_role("table").get_by_role("link").first.click()
    await page.get_by_label("New name").fill("Refund never offered")
    await page.get_by_role("button", name="Rename").click()
    await page.get_by_role("status").wait_for()
    assert await page.get_by_role("heading", level=1).inner_text() == "Refund never offered"
    await page.get_by_role("button", name="Dismiss").click()
    await page.get_by_text("Issue dismissed.").wait_for()
    assert await page.get_by_role("button", name="Reopen").count() == 1
    await context.close()
