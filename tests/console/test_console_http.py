"""The console over real HTTP (aiohttp client) against a real evaluator fed by the real pipeline: the login
gate, the session cookie, CSRF and the read-only key, and what the pages show."""

from __future__ import annotations

import re

import aiohttp

from evaluator_service.console.auth import COOKIE_NAME, FAILURE_LIMIT
from tests.behaviors.failing_spans import REFUND

from .console_stack import ADMIN_KEY, ALERT, READ_KEY, UPLOADED, FedEvaluator

PAGES = ["/", "/issues", "/alerts", "/scorers"]




def client(base_url: str) -> aiohttp.ClientSession:
    # unsafe: cookies for an IP host (127.0.0.1) are kept, as a browser keeps them
    return aiohttp.ClientSession(base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(session: aiohttp.ClientSession, key: str, next_path: str = "/") -> aiohttp.ClientResponse:
    return await session.post("/login", data={"key": key, "next": next_path}, allow_redirects=False)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def test_every_page_needs_a_login_and_a_wrong_key_gets_none(fed: FedEvaluator) -> None:
    async with client(fed.base_url) as http:
        for path in PAGES:
            response = await http.get(path, allow_redirects=False)
            assert response.status == 303, path
            assert response.headers["Location"].startswith("/login?next=")
        post = await http.post("/issues/x/dismiss", data={"csrf": "x"}, allow_redirects=False)
        assert post.status == 401
        wrong = await login(http, "not-the-key")
        assert wrong.status == 401 and "not the evaluator" in await wrong.text()
        assert COOKIE_NAME not in {c.key for c in http.cookie_jar}
        assert (await http.get("/issues", allow_redirects=False)).status == 303
        forged = aiohttp.ClientSession(fed.base_url, cookies={COOKIE_NAME: "eyJyIjoiYWRtaW4ifQ.forged.sig"})
        async with forged:
            assert (await forged.get("/issues", allow_redirects=False)).status == 303


async def test_login_sets_a_strict_http_only_cookie_and_no_key_in_a_url(fed: FedEvaluator) -> None:
    async with client(fed.base_url) as http:
        response = await login(http, ADMIN_KEY, "/alerts")
        assert response.status == 303 and response.headers["Location"] == "/alerts"
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie and "Max-Age=43200" in cookie and "Secure" not in cookie
        assert ADMIN_KEY not in cookie and ADMIN_KEY not in response.headers["Location"]
        page = await http.get("/alerts")
        assert page.status == 200 and ADMIN_KEY not in await page.text()
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["Cache-Control"] == "no-store"
        form = await http.get("/login?next=//evil.example/x")
        assert 'value="/"' in await form.text()  # an open redirect is never offered
        logout = await http.post("/logout", data={"csrf": csrf_of(await page.text())}, allow_redirects=False)
        assert logout.status == 303
        assert (await http.get("/alerts", allow_redirects=False)).status == 303


async def test_wrong_keys_are_throttled_per_client(fed: FedEvaluator) -> None:
    async with client(fed.base_url) as http:
        for _ in range(FAILURE_LIMIT):
            assert (await login(http, "guess-guess")).status == 401
        throttled = await login(http, ADMIN_KEY)
        assert throttled.status == 429 and "retry in" in await throttled.text()


async def test_the_read_only_key_sees_everything_and_changes_nothing(fed: FedEvaluator) -> None:
    state = fed.app._state
    assert state is not None
    issue = next(b for b in await state.behaviors() if b.scorer == REFUND)
    async with client(fed.base_url) as http:
        assert (await login(http, READ_KEY)).status == 303
        for path in PAGES:
            assert (await http.get(path)).status == 200, path
        page = await (await http.get(f"/issues/{issue.id}")).text()
        assert "Read-only session" in page and "/rename" not in page
        csrf = csrf_of(page)  # the logout form's; a valid token, still a read-only session
        for action, data in (("rename", {"name": "Hacked"}), ("dismiss", {}), ("merge", {"target": "x"})):
            refused = await http.post(f"/issues/{issue.id}/{action}", data={"csrf": csrf, **data},
                                      allow_redirects=False)
            assert refused.status == 403 and "read-only" in await refused.text(), action
    after = await state.behavior(issue.id)
    assert after is not None and (after.name, after.disposition) == (issue.name, "open")


async def test_admin_renames_merges_and_dismisses_with_csrf(fed: FedEvaluator) -> None:
    state = fed.app._state
    assert state is not None
    refund = next(b for b in await state.behaviors() if b.scorer == REFUND)
    async with client(fed.base_url) as http:
        assert (await login(http, ADMIN_KEY)).status == 303
        page = await (await http.get(f"/issues/{refund.id}")).text()
        csrf = csrf_of(page)
        no_token = await http.post(f"/issues/{refund.id}/rename", data={"name": "x"}, allow_redirects=False)
        assert no_token.status == 403 and "CSRF" in await no_token.text()
        stale = await http.post(f"/issues/{refund.id}/rename", data={"name": "x", "csrf": "stale"},
                                allow_redirects=False)
        assert stale.status == 403
        renamed = await http.post(f"/issues/{refund.id}/rename",
                                  data={"name": "  Refund   never offered ", "csrf": csrf})
        assert renamed.status == 200 and "Issue renamed." in await renamed.text()
        empty = await http.post(f"/issues/{refund.id}/rename", data={"name": "  ", "csrf": csrf})
        assert "A name must be 1 to 200 characters." in await empty.text()
        dismissed = await http.post(f"/issues/{refund.id}/dismiss", data={"csrf": csrf})
        assert "Issue dismissed." in await dismissed.text()
        listed = await (await http.get("/issues")).text()
        assert "Refund never offered" not in listed  # open issues only by default
        assert "Refund never offered" in await (await http.get("/issues?disposition=all")).text()
    after = await state.behavior(refund.id)
    assert after is not None and (after.name, after.name_source, after.disposition) == (
        "Refund never offered", "operator", "dismissed")


async def test_pages_show_the_pipeline_s_data_and_link_to_traces(fed: FedEvaluator) -> None:
    async with client(fed.base_url) as http:
        await login(http, ADMIN_KEY)
        issues = await (await http.get("/issues")).text()
        state = fed.app._state
        assert state is not None
        behaviors = await state.behaviors()
        assert {b.scorer for b in behaviors} >= {REFUND, "no_pii"}
        for b in behaviors:
            assert f'href="/issues/{b.id}"' in issues
        assert 'role="img" aria-label="members per hour' in issues
        refund = next(b for b in behaviors if b.scorer == REFUND)
        issue = await (await http.get(f"/issues/{refund.id}")).text()
        trace_id = fed.traces["no-refund-0"]
        assert any(f"http://jaeger.test:16686/trace/{fed.traces[f'no-refund-{n}']}?uiFind=" in issue
                   for n in range(3)), trace_id
        assert "cannot do anything" in issue and "triage-agent" in issue and "support-bot" in issue
        filtered = await (await http.get(f"/issues?scorer={REFUND}")).text()
        assert f'href="/issues/{refund.id}"' in filtered
        assert not any(f'href="/issues/{b.id}"' in filtered for b in behaviors if b.scorer != REFUND)
        alerts = await (await http.get("/alerts")).text()
        assert ALERT in alerts and "firing" in alerts and "hook: delivered" in alerts
        scorers = await (await http.get("/scorers")).text()
        assert UPLOADED in scorers and "keyword" in scorers and "Shadow comparisons" in scorers
        source = await http.get(f"/scorers/{UPLOADED}/1")
        text = await source.text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in text
        assert "<script>alert(1)" not in text
        assert (await http.get(f"/scorers/{UPLOADED}/9")).status == 404
        assert (await http.get("/issues/no-such-issue")).status == 404
        plotly = await http.get("/static/plotly.min.js")
        assert plotly.status == 200 and len(await plotly.read()) > 1_000_000
