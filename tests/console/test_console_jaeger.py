"""The console's trace links against the real Jaeger: the evaluator re-exports the scored spans to Jaeger,
and every link on the failing-interactions page names a trace Jaeger holds, with the linked span in it
(what ``uiFind`` highlights), scored; in Chromium the link opens Jaeger's trace route in a new tab."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import yaml
from judgeval import semconv

from evaluator_service.config import load_config
from tests.support.evaluator import FAST_RETRIES, export, running, wait_drained
from tests.support.spans import make_request
from tools.localstack.stack import JaegerInstance

from .browser import chromium, require_browser
from .console_stack import ADMIN_KEY, console_doc, traffic
from .test_console_http import client, login


async def test_trace_links_open_the_scored_span_in_jaeger(jaeger: JaegerInstance, webhook: Any,
                                                          tmp_path: Path) -> None:
    require_browser()
    doc = {**FAST_RETRIES, **console_doc(webhook, trace_url=jaeger.query_url
                                         + "/trace/{trace_id}?uiFind={span_id}")}
    path = tmp_path / "evaluator.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(listen="127.0.0.1:0", export_endpoint=jaeger.otlp_grpc_endpoint,
                         data_dir=str(tmp_path / "data"), config_file=str(path), environ=dict(os.environ))
    async with running(config) as app:
        for service, spans in traffic().items():
            await export(app, make_request(spans, service=service))
        await wait_drained(app)
        assert app.console_recorder is not None and await app.console_recorder.flush()
        assert app.console is not None
        base_url = f"http://127.0.0.1:{app.console.port}"
        async with client(base_url) as http:
            await login(http, ADMIN_KEY)
            page = await (await http.get("/failing?outcome=failed")).text()
        links = re.findall(r'href="(http://[^"]+/trace/[0-9a-f]{32}\?uiFind=[0-9a-f]{16})"', page)
        assert len(links) == 5, links
        for link in links:
            found = re.search(r"/trace/([0-9a-f]{32})\?uiFind=([0-9a-f]{16})", link)
            assert found is not None
            trace_id, span_id = found.groups()
            spans = await asyncio.to_thread(jaeger.query.wait_for_trace, trace_id,
                                            lambda got, s=span_id: any(x.span_id == s for x in got))
            linked = next(s for s in spans if s.span_id == span_id)
            assert linked.attributes[semconv.JUDGEVAL_EVAL_SUCCESS] is False
        async with chromium() as browser:
            context = await browser.new_context()
            page_ = await context.new_page()
            await page_.goto(base_url + "/failing?outcome=failed")
            await page_.get_by_label("API key").fill(ADMIN_KEY)
            await page_.get_by_role("button", name="Log in").click()
            await page_.wait_for_url("**/failing?outcome=failed")
            async with context.expect_page() as opened:
                await page_.get_by_role("link", name="trace ").first.click()
            jaeger_page = await opened.value
            await jaeger_page.wait_for_load_state()
            # The link opens in a new tab on Jaeger's own trace route (our Jaeger build carries a
            # placeholder UI, so what the page shows is not checked; the API check above is).
            assert jaeger_page.url in links
            await context.close()
