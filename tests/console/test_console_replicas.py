"""Two evaluator replicas on one PostgreSQL state database: the console of the replica that scored nothing
shows what the other scored, and a login on one replica's console is valid on the other's."""

from __future__ import annotations

from typing import Any

from evaluator_service.console.auth import COOKIE_NAME
from tests.behaviors.failing_spans import REFUND
from tests.support.evaluator import running
from tests.support.postgres_cluster import PostgresCluster

from .console_stack import ADMIN_KEY, READ_KEY, fed_evaluator
from .test_console_http import client, login


async def test_any_replica_serves_the_same_console(make_config: Any, receiver: Any, webhook: Any,
                                                  postgres: PostgresCluster) -> None:
    state_db = postgres.url(postgres.new_database())
    async with fed_evaluator(make_config, receiver, webhook, state_db) as scoring:
        # the same keys as the first replica (replicas share their configuration)
        doc = {"api_key": ADMIN_KEY, "state_db": state_db,
               "console": {"listen": "127.0.0.1:0", "read_only_key": READ_KEY}}
        other_config = make_config(doc, data_dir=scoring.app.config.data_dir.parent / "other")
        async with running(other_config) as idle:
            assert idle.console is not None
            other_url = f"http://127.0.0.1:{idle.console.port}"
            async with client(scoring.base_url) as first:
                response = await login(first, ADMIN_KEY)
                cookie = response.cookies[COOKIE_NAME].value
                mine = await (await first.get(f"/failing?scorer={REFUND}")).text()
            async with client(other_url) as second:
                second.cookie_jar.update_cookies({COOKIE_NAME: cookie})
                page = await second.get(f"/failing?scorer={REFUND}", allow_redirects=False)
                assert page.status == 200  # the first replica's session, accepted here
                theirs = await page.text()
                overview = await (await second.get("/")).text()
    for n in range(3):
        trace = scoring.traces[f"no-refund-{n}"]
        assert trace in mine and trace in theirs
    assert f">{REFUND}</a></th>" in overview and "40.0%" in overview
