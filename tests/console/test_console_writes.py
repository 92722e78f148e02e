"""Issue merges through the console (and the state's refusals shown as messages), the session cookie's
``Secure`` flag when the console is served over TLS, hostile filter values, and an unreachable state
database."""

from __future__ import annotations

import re
import ssl
from typing import Any

import aiohttp
import psycopg

from tests.behaviors.failing_spans import PII, REFUND
from tests.evaluator.certificates import make_certificates
from tests.support.evaluator import running
from tests.support.postgres_cluster import PostgresCluster

from .console_stack import ADMIN_KEY, UNKNOWN, FedEvaluator
from .test_console_http import client, csrf_of, login


async def test_admin_merges_an_issue_into_another_and_sees_refusals(fed: FedEvaluator) -> None:
    state = fed.app._state
    assert state is not None
    by_scorer = {b.scorer: b for b in await state.behaviors()}
    pii, refund, error = by_scorer[PII], by_scorer[REFUND], by_scorer[UNKNOWN]
    async with client(fed.base_url) as http:
        await login(http, ADMIN_KEY)
        page = await (await http.get(f"/issues/{pii.id}")).text()
        select = page.split('id="merge-target"')[1].split("</select>")[0]
        targets = re.findall(r'<option value="([^"]+)">', select)
        assert targets == [refund.id]  # same kind and space; never the error group
        csrf = csrf_of(page)
        refused = await http.post(f"/issues/{error.id}/merge", data={"csrf": csrf, "target": refund.id})
        assert refused.status == 200 and "cannot merge a error behavior" in await refused.text()
        merged = await http.post(f"/issues/{pii.id}/merge", data={"csrf": csrf, "target": refund.id})
        assert str(merged.url).endswith(f"/issues/{refund.id}?done=merged")
        assert "Issue merged." in await merged.text()
        gone = await (await http.get(f"/behaviors/{pii.id}")).text()  # an alert's issue link
        assert f'into <a href="/issues/{refund.id}">' in gone and "Reopen" not in gone
        again = await http.post(f"/issues/{pii.id}/merge", data={"csrf": csrf, "target": refund.id})
        assert "was already merged into" in await again.text()
    after = await state.behavior(refund.id)
    assert after is not None and after.member_count == refund.member_count + pii.member_count


async def test_over_tls_the_session_cookie_is_secure(make_config: Any, tmp_path: Any) -> None:
    certs = make_certificates(tmp_path / "certs")
    doc = {"api_key": ADMIN_KEY, "console": {"listen": "127.0.0.1:0"},
           "ingress": {"tls": {"cert_file": str(certs.server_cert), "key_file": str(certs.server_key)}}}
    async with running(make_config(doc)) as app:
        assert app.console is not None
        context = ssl.create_default_context(cafile=str(certs.ca))
        async with aiohttp.ClientSession(f"https://localhost:{app.console.port}",
                                         connector=aiohttp.TCPConnector(ssl=context)) as http:
            response = await http.post("/login", data={"key": ADMIN_KEY, "next": "/"}, allow_redirects=False)
            assert response.status == 303
            assert "; Secure" in response.headers["Set-Cookie"]
            assert (await http.get("/alerts")).status == 200


async def test_hostile_filters_are_shown_as_text(fed: FedEvaluator) -> None:
    async with client(fed.base_url) as http:
        await login(http, ADMIN_KEY)
        attack = '"><script>alert(1)</script>'
        for path in ("/failing", "/", "/not-evaluated"):
            response = await http.get(path, params={"scorer": attack})
            page = await response.text()
            assert response.status == 200 and "<script>alert(1)" not in page, path
            assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


async def test_an_unreachable_state_database_is_a_503_page(make_config: Any, postgres: PostgresCluster
                                                           ) -> None:
    database = postgres.new_database()
    doc = {"api_key": ADMIN_KEY, "state_db": postgres.url(database), "console": {"listen": "127.0.0.1:0"}}
    async with running(make_config(doc)) as app:
        assert app.console is not None
        async with client(f"http://127.0.0.1:{app.console.port}") as http:
            await login(http, ADMIN_KEY)
            assert (await http.get("/issues")).status == 200
            with psycopg.connect(postgres.url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')  # a generated name
            for path in ("/issues", "/failing", "/"):
                response = await http.get(path)
                page = await response.text()
                assert response.status == 503, path
                assert "The state database is unavailable" in page and "Traceback" not in page


async def test_plain_http_beyond_loopback_is_warned_about(make_config: Any, caplog: Any) -> None:
    doc = {"api_key": ADMIN_KEY, "console": {"listen": "0.0.0.0:0"}}
    async with running(make_config(doc)) as app:
        assert app.console is not None
    assert "console on 0.0.0.0:0 over plain HTTP" in caplog.text
    caplog.clear()
    async with running(make_config({**doc, "console": {"listen": "127.0.0.1:0"}})):
        pass
    assert "plain HTTP" not in caplog.text
