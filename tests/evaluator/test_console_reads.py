"""The console's thin reads of what the state already holds, filled by a running evaluator: behaviors with
their trend (and the failing interactions that link to them), alert states, paused scorers, uploaded
scorers with their source; and a database outage that delays the console's data without losing it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.console.queries import ConsoleQueries, FailingFilter
from evaluator_service.console.recorder import ConsoleRecorder
from evaluator_service.console.settings import ConsoleDataConfig
from evaluator_service.console.views import FailingPage
from evaluator_service.state import SharedState, StoredScorer, open_shared_state
from evaluator_service.state.scorer_versions import ScorerFiles
from tests.support.evaluator import export, running, wait_for
from tests.support.postgres_cluster import PostgresCluster, set_reachable
from tests.support.spans import make_request, make_span, tagged_attributes


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared' / 'state.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.url(cluster.new_database())


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[SharedState]:
    state = open_shared_state(url)
    await state.open()
    try:
        yield state
    finally:
        await state.close()


async def failing_when(queries: ConsoleQueries, count: int) -> FailingPage:
    """The failing list once it holds ``count`` rows (the recorder flushes every 0.05 s)."""
    deadline = time.monotonic() + 20
    while len((page := await queries.failing()).items) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within 20s: {count} failing interactions (have {len(page.items)})")
        await asyncio.sleep(0.02)
    return page


async def test_behaviors_alerts_and_pauses_as_the_console_reads_them(make_config, receiver, state_url):
    doc = {"state_db": state_url, "console_data": {"flush_interval_s": 0.05},
           "alerts": [{"name": "refusals", "scorer": "keyword", "score_below": 0.5}]}
    rude = [make_span(f"rude-{i}", {**tagged_attributes(("keyword", {"actual_output": "go away, I won't"}),
                                                        config={"keywords": ["thanks"]}),
                                    semconv.GEN_AI_AGENT_NAME: "triage"}) for i in range(3)]
    async with running(make_config(doc)) as app, opened(state_url) as reader:
        await app.pauses.pause("faithfulness", "judge answered 401")
        await export(app, make_request(rude, service="support"))
        await wait_for(receiver, lambda s: len(s) == 3)
        queries = ConsoleQueries(reader)
        page = await failing_when(queries, 3)
        behaviors = await queries.behaviors(window_s=3600)
        alerts = await queries.alerts()
        paused = await queries.paused()
    [view] = behaviors
    assert view.behavior.member_count == 3 and view.behavior.scorers == ("keyword",)
    assert sum(members for _, members in view.trend) == 3 and view.bucket_s == 300
    assert [at for at, _ in view.trend] == sorted(at for at, _ in view.trend)
    assert {row.record.behavior_id for row in page.items} == {view.behavior.id}  # each links to its issue
    assert {row.record.span_id for row in page.items} == {s.span_id.hex() for s in rude}
    assert [s.name for s in alerts.statuses] == ["refusals"]
    assert [(p.name, p.reason) for p in paused] == [("faithfulness", "judge answered 401")]


async def test_failing_interactions_of_one_behavior(make_config, receiver, state_url):
    doc = {"state_db": state_url, "console_data": {"flush_interval_s": 0.05}}
    spans = [make_span(f"s-{i}", tagged_attributes(("keyword", {"actual_output": "no"}),
                                                   config={"keywords": ["yes"]})) for i in range(2)]
    async with running(make_config(doc)) as app, opened(state_url) as reader:
        await export(app, make_request(spans))
        await wait_for(receiver, lambda s: len(s) == 2)
        queries = ConsoleQueries(reader)
        await failing_when(queries, 2)
        [view] = await queries.behaviors()
        mine = await queries.failing(FailingFilter(behavior_id=view.behavior.id))
        other = await queries.failing(FailingFilter(behavior_id="no-such-behavior"))
    assert len(mine.items) == 2 and other.items == []


async def test_uploaded_scorer_versions_with_their_source(state_url):
    async with opened(state_url) as state:
        draft = StoredScorer(name="Package Inquiry Scorer", version=0, sha256="a" * 64, created_at=1.0,
                             class_name="PackageInquiryScorer", source_filename="scorer.py",
                             requirements_hash="h")
        await state.store_version(draft, ScorerFiles("class PackageInquiryScorer: ...\n", "openai\n"),
                                  lambda rows: max((r.version for r in rows), default=0) + 1)
        queries = ConsoleQueries(state)
        [listed] = await queries.scorers()
        source = await queries.scorer_source("Package Inquiry Scorer", 1)
        missing = await queries.scorer_source("Package Inquiry Scorer", 2)
    assert (listed.name, listed.version, listed.kind) == ("Package Inquiry Scorer", 1, "example")
    assert source is not None and source.files.source == "class PackageInquiryScorer: ...\n"
    assert source.scorer == listed and missing is None


async def test_an_outage_delays_the_console_data_and_loses_none(postgres: PostgresCluster) -> None:
    database = postgres.new_database()
    url = postgres.url(database)
    async with opened(url) as state:
        recorder = ConsoleRecorder(ConsoleDataConfig(), state)
        at = time.time()
        failing = InteractionRecord(scorer="Polite", trace_id="1" * 32, span_id="2" * 16, at=at, example={},
                                    threshold=0.5, score=0.1, passed=False, reason="rude")
        try:
            set_reachable(postgres, database, False)
            recorder.record_interactions([failing])
            assert not await recorder.flush()
            recorder.record_interactions([InteractionRecord(
                scorer="Polite", trace_id="3" * 32, span_id="4" * 16, at=at, example={}, threshold=0.5,
                score=0.9, passed=True)])
            assert not await recorder.flush()
        finally:
            set_reachable(postgres, database, True)
        assert await recorder.flush()
        queries = ConsoleQueries(state)
        overview = await queries.overview(at - 60, at + 60, step_s=60)
        page = await queries.failing()
    assert (overview.total.scores, overview.total.failures, recorder.flush_failures) == (2, 1, 2)
    assert [row.record for row in page.items] == [failing]


async def test_the_scorer_catalog_lists_builtins_yaml_scorers_rules_and_uploads(make_config, state_url):
    rule = {"name": "chats", "scorer": "pii", "when": {"gen_ai.operation.name": "chat"}}
    config = make_config({"scorers": [{"name": "strict", "type": "regex", "options": {"pattern": "ok"}}],
                          "rules": [rule]})
    async with opened(state_url) as state:
        draft = StoredScorer(name="Mine", version=0, sha256="b" * 64, created_at=1.0, class_name="Mine",
                             source_filename="mine.py", requirements_hash="h")
        await state.store_version(draft, ScorerFiles("class Mine: ...\n", ""), lambda rows: 1)
        found = await ConsoleQueries(state).scorer_catalog(config.scorers, config.rules)
    assert "answer_relevancy" in found.builtin and "regex" in found.builtin
    assert "tool_loop" in found.builtin_trajectory and "tool_loop" not in found.builtin
    assert [(s.name, s.type) for s in found.configured] == [("strict", "regex")]
    assert [(r.name, r.scorer) for r in found.rules] == [("chats", "pii")]
    assert [(u.name, u.version) for u in found.uploaded] == [("Mine", 1)]
