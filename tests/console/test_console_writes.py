"""Issue merges through the console (and the state's refusals shown as messages), and the session cookie's
``Secure`` flag when the console is served over TLS."""

from __future__ import annotations

import re
import ssl
from typing import Any

import aiohttp

from tests.behaviors.failing_spans import PII, REFUND
from tests.evaluator.certificates import make_certificates
from tests.support.evaluator import running

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
        gone = await (await http.get(f"/issues/{pii.id}")).text()
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
