"""The console's data through the real pipeline: tagged spans exported to running evaluators (gRPC), scored,
recorded, flushed to the shared state (SQLite and PostgreSQL), read back by the console's read API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.testing import RecordedOpenAIServer, Recording

from evaluator_service.app import EvaluatorApp
from evaluator_service.console.queries import ConsoleQueries, FailingFilter
from evaluator_service.console.views import NotEvaluatedSummary, Overview
from evaluator_service.scoring.contract import ScoreOutcome, Scorer
from evaluator_service.state import SharedState, open_shared_state
from tests.support.evaluator import export, running, wait_for
from tests.support.postgres_cluster import PostgresCluster
from tests.support.spans import make_request, make_span, tagged_attributes
from tests.support.trajectories import ManualClock, clean_run, export_feed, looping_run, requests_value

T = TypeVar("T")
SORRY = {"pattern": r"\bsorry\b"}
FAST_FLUSH = {"console_data": {"flush_interval_s": 0.05}}


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared' / 'state.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.url(cluster.new_database())


@pytest.fixture
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedOpenAIServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    recordings = [Recording(match=["slow question"], answer='{"score": 1}', delay_ms=1500),
                  Recording(match=[""], answer='{"score": 0.9, "reason": "on topic"}')]
    with RecordedOpenAIServer(recordings) as server:
        yield server


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[SharedState]:
    state = open_shared_state(url)
    await state.open()
    try:
        yield state
    finally:
        await state.close()


def regex_span(name: str, output: str, agent: str) -> Any:
    return make_span(name, {**tagged_attributes(("regex", {"actual_output": output}), config=SORRY),
                            semconv.GEN_AI_AGENT_NAME: agent})


async def polled(read: Callable[[], Awaitable[T | None]], what: str, timeout: float = 20.0) -> T:
    """``read()`` again until it answers (flushes are asynchronous); ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await read()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.02)


async def overview_when(queries: ConsoleQueries, volume: int) -> Overview:
    """The last hour's overview once ``volume`` results are in it."""
    async def read() -> Overview | None:
        now = time.time()
        overview = await queries.overview(now - 3600, now + 60, step_s=3600)
        return overview if overview.total.volume >= volume else None

    return await polled(read, f"{volume} results in the console's rollups")


async def not_evaluated_when(queries: ConsoleQueries, total: int) -> NotEvaluatedSummary:
    async def read() -> NotEvaluatedSummary | None:
        now = time.time()
        summary = await queries.not_evaluated(now - 3600, now + 60, step_s=3600)
        return summary if summary.total >= total else None

    return await polled(read, f"{total} not-evaluated spans recorded")


async def test_scored_spans_become_rollups_and_failing_interactions(make_config, receiver, state_url):
    spans = [regex_span("ok-1", "I'm sorry", "triage"), regex_span("ok-2", "so sorry", "triage"),
             regex_span("bad-1", "go away", "triage"), regex_span("bad-2", "whatever", "billing")]
    config = make_config({**FAST_FLUSH, "state_db": state_url})
    async with running(config) as app, opened(state_url) as reader:
        await export(app, make_request(spans, service="shop",
                                       resource_extra={semconv.DEPLOYMENT_ENVIRONMENT_NAME: "prod"}))
        await wait_for(receiver, lambda s: len(s) == 4)
        queries = ConsoleQueries(reader)
        overview = await overview_when(queries, 4)
        failing = await queries.failing(FailingFilter(service="shop", environment="prod"))
        billing = await queries.failing(FailingFilter(agent="billing"))
    [regex] = overview.by_scorer
    assert (regex.name, regex.total.scores, regex.total.passes, regex.total.failures) == ("regex", 4, 2, 2)
    assert regex.total.histogram[1] == 2 and regex.total.histogram[10] == 2  # 0.0 twice, 1.0 twice
    assert regex.total.mean_latency_s is not None  # the runner measured every result
    assert {(a.name, a.total.scores, a.total.pass_rate) for a in overview.by_agent} == {
        ("triage", 3, 2 / 3), ("billing", 1, 0.0)}
    by_span = {row.record.example["actual_output"]: row for row in failing.items}
    assert set(by_span) == {"go away", "whatever"}
    bad = by_span["go away"]
    assert (bad.outcome, bad.record.score, bad.record.passed) == ("failed", 0.0, False)
    assert bad.record.agent == "triage"
    assert bad.record.trace_id == spans[2].trace_id.hex() and bad.record.span_id == spans[2].span_id.hex()
    assert [row.record.agent for row in billing.items] == ["billing"]


async def test_each_reason_for_no_score_is_recorded(make_config, receiver, state_url, judge):
    slow = {"name": "slow_judge", "type": "answer_relevancy", "timeout_s": 0.2, "max_retries": 0}
    doc = {**FAST_FLUSH, "state_db": state_url, "scorers": [slow],
           "judge": {"base_url": judge.base_url, "model": "judge-model"},
           "scoring": {"judge_calls_per_span": 1, "backoff_initial_s": 0.01, "backoff_max_s": 0.05}}
    two_judges = tagged_attributes(("answer_relevancy", {"input": "a", "actual_output": "b"}),
                                   ("faithfulness", {"actual_output": "b", "retrieval_context": ["c"]}))
    spans = [
        make_span("paused", tagged_attributes(("pii", {"actual_output": "hi"}))),
        make_span("unknown", tagged_attributes(("no_such_scorer", {"actual_output": "hi"}))),
        make_span("timeout",
                  tagged_attributes(("slow_judge", {"input": "slow question", "actual_output": "x"}))),
        make_span("limit", two_judges),
        make_span("invalid", {semconv.JUDGEVAL_EVAL_STATUS: "pending",
                              semconv.JUDGEVAL_EVAL_REQUESTS: "[{oops"}),
    ]
    async with running(make_config(doc)) as app, opened(state_url) as reader:
        await app.pauses.pause("pii", "judge key revoked")
        await export(app, make_request(spans, service="support"))
        await wait_for(receiver, lambda s: len(s) == len(spans))
        queries = ConsoleQueries(reader)
        summary = await not_evaluated_when(queries, 5)
        errors = await queries.failing(FailingFilter(outcome="error"))
        overview = await overview_when(queries, 5)
    assert {(c.reason, c.scorer, c.service, c.spans) for c in summary.counts} == {
        ("paused", "pii", "support", 1), ("unknown_scorer", "no_such_scorer", "support", 1),
        ("timeout", "slow_judge", "support", 1), ("limit", "faithfulness", "support", 1),
        ("invalid_request", "", "support", 1)}
    assert all(c.description for c in summary.counts)
    samples = {s.reason: s for s in summary.samples}
    assert samples["paused"].detail == "scorer is paused: judge key revoked"
    assert samples["invalid_request"].span_id == spans[4].span_id.hex()
    assert "judgeval.eval.requests" in samples["invalid_request"].detail
    assert samples["timeout"].trace_id == spans[2].trace_id.hex()
    assert {series.reason for series in summary.series} == {
        "paused", "unknown_scorer", "timeout", "limit", "invalid_request"}
    # Results without a score are errors in the rollups and the failing list, never failures.
    assert {r.record.error_kind for r in errors.items} == {"paused", "unknown_scorer", "timeout", "limit"}
    assert (overview.total.errors, overview.total.failures, overview.total.passes) == (4, 0, 1)
    assert overview.not_evaluated == 5


async def test_two_replicas_add_to_one_rollup(make_config, receiver, state_url, tmp_path):
    first_doc = {**FAST_FLUSH, "state_db": state_url}
    async with running(make_config(first_doc, data_dir=tmp_path / "one")) as one, \
            running(make_config(first_doc, data_dir=tmp_path / "two")) as two, opened(state_url) as reader:
        await export(one, make_request([regex_span(f"one-{i}", "sorry", "triage") for i in range(3)]))
        await export(two, make_request([regex_span(f"two-{i}", "no", "triage") for i in range(2)]))
        await wait_for(receiver, lambda s: len(s) == 5)
        overview = await overview_when(ConsoleQueries(reader), 5)
        assert one.console_queries is not None and two.console_queries is not None
        seen_by_one = await one.console_queries.failing()
        seen_by_two = await two.console_queries.failing()
    [triage] = overview.by_agent
    assert (triage.total.scores, triage.total.passes, triage.total.failures) == (5, 3, 2)
    assert len(seen_by_one.items) == 2 and seen_by_one == seen_by_two  # any replica serves the same view


async def test_stopping_flushes_what_is_left(make_config, receiver, state_url):
    config = make_config({"console_data": {"flush_interval_s": 3600}, "state_db": state_url})
    app = EvaluatorApp(config)
    await app.start()
    try:
        await export(app, make_request([regex_span("last", "no", "triage")]))
        await wait_for(receiver, lambda s: len(s) == 1)
    finally:
        await app.stop(grace=2.0)
    async with opened(state_url) as reader:
        page = await ConsoleQueries(reader).failing()
    assert [row.record.example for row in page.items] == [{"actual_output": "no"}]


async def test_recording_can_be_turned_off(make_config, receiver, state_url):
    config = make_config({"console_data": {"enabled": False}, "state_db": state_url})
    async with running(config) as app:
        assert app.console_recorder is None
        await export(app, make_request([regex_span("unrecorded", "no", "triage")]))
        await wait_for(receiver, lambda s: len(s) == 1)
    async with opened(state_url) as reader:
        assert (await ConsoleQueries(reader).failing()).items == []


class NonNumberScorer:
    """A plug-in answering with a value that is no number: its span becomes a dead letter."""

    name = "not a number"

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        return ScoreOutcome(value="high")  # type: ignore[arg-type]


class Plugins:
    def resolve(self, ref: ScorerRef) -> Scorer | None:
        return NonNumberScorer() if ref.name == NonNumberScorer.name else None


async def test_a_dead_letter_is_recorded_as_not_evaluated(make_config, receiver, state_url):
    span = make_span("poisoned", tagged_attributes((NonNumberScorer.name, {"actual_output": "x"})))
    config = make_config({**FAST_FLUSH, "state_db": state_url})
    async with running(config, scorer_sources=[Plugins()]) as app, opened(state_url) as reader:
        await export(app, make_request([span], service="support"))
        await wait_for(receiver, lambda s: len(s) == 1)
        summary = await not_evaluated_when(ConsoleQueries(reader), 1)
    [sample] = summary.samples
    assert (sample.reason, sample.scorer, sample.service, sample.span_id) == (
        "dead_letter", "", "support", span.span_id.hex())
    assert sample.detail.startswith("span could not be ")


async def test_trajectory_results_reach_the_rollups_and_the_failing_list(make_config, receiver, state_url):
    clock = ManualClock()
    looping = looping_run(4, requests=requests_value("trace", scorer="tool_loop"))
    unknown = clean_run(requests=requests_value("trace", scorer="no_such_trajectory_scorer"))
    doc = {**FAST_FLUSH, "state_db": state_url, "trajectories": {"grace_s": 5, "tick_s": 0.05}}
    async with running(make_config(doc), clock=clock) as app, opened(state_url) as reader:
        await export_feed(app, [*looping.spans, *unknown.spans], service="planner")
        clock.advance(5)
        assert app.trajectories is not None
        await app.trajectories.sweeper.sweep()
        await wait_for(receiver, lambda spans: sum(s.name.startswith("evaluate ") for s in spans) == 2)
        queries = ConsoleQueries(reader, clock=clock)

        async def read() -> Overview | None:
            overview = await queries.overview(clock.now - 600, clock.now + 60, step_s=60)
            return overview if overview.total.volume >= 2 else None

        overview = await polled(read, "two trajectory results in the rollups")
        failing = await queries.failing(FailingFilter(scorer="tool_loop"))
        summary = await queries.not_evaluated(clock.now - 600, clock.now + 60, step_s=60)
    assert {(s.name, s.total.failures, s.total.errors) for s in overview.by_scorer} == {
        ("tool_loop", 1, 0), ("no_such_trajectory_scorer", 0, 1)}
    [row] = failing.items
    assert (row.record.scope, row.record.trace_id, row.record.service) == (
        "trace", looping.trace_id.hex(), "planner")
    assert "search_web" in row.record.reason
    assert [(c.reason, c.scorer) for c in summary.counts] == [("unknown_scorer", "no_such_trajectory_scorer")]


async def test_a_trace_whose_request_never_came_is_recorded_unevaluated(make_config, receiver, state_url):
    clock = ManualClock()
    run = looping_run(2, requests=requests_value("trace", scorer="tool_loop"))
    doc = {**FAST_FLUSH, "state_db": state_url, "trajectories": {"trace_idle_s": 60, "tick_s": 0.05}}
    async with running(make_config(doc), clock=clock) as app, opened(state_url) as reader:
        await export_feed(app, run.children)  # the bounding span (with the request) is lost
        clock.advance(60)
        assert app.trajectories is not None
        await app.trajectories.sweeper.sweep()
        queries = ConsoleQueries(reader, clock=clock)

        async def read() -> NotEvaluatedSummary | None:
            summary = await queries.not_evaluated(clock.now - 600, clock.now + 60)
            return summary if summary.total else None

        summary = await polled(read, "the unbounded trace recorded")
    [sample] = summary.samples
    assert (sample.reason, sample.trace_id, sample.span_id) == (
        "unbounded_trajectory", run.trace_id.hex(), "")
    assert "trajectories.trace_idle_s" in sample.detail


async def test_judge_latency_and_cost_reach_the_overview(make_config, receiver, state_url, judge):
    # $1 per input token, output free: the cost is the prompt's token count the judge reported.
    prices = {"judge-model": {"input_per_1m_tokens": 1_000_000, "output_per_1m_tokens": 0}}
    doc = {**FAST_FLUSH, "state_db": state_url,
           "judge": {"base_url": judge.base_url, "model": "judge-model", "prices": prices},
           "scorers": [{"name": "unpriced", "type": "answer_relevancy", "model": "other-model"}]}
    example = {"input": "where is my parcel?", "actual_output": "Monday"}
    spans = [make_span(f"judged-{i}", tagged_attributes(("answer_relevancy", example), ("unpriced", example)))
             for i in range(2)]
    async with running(make_config(doc)) as app, opened(state_url) as reader:
        await export(app, make_request(spans))
        await wait_for(receiver, lambda s: len(s) == 2)
        overview = await overview_when(ConsoleQueries(reader), 4)
    by_name = {s.name: s.total for s in overview.by_scorer}
    priced, unpriced = by_name["answer_relevancy"], by_name["unpriced"]
    assert priced.cost_usd is not None and priced.cost_usd > 0 and priced.cost_usd == int(priced.cost_usd)
    assert unpriced.cost_usd is None  # no price for other-model: unknown, not zero
    assert priced.mean_latency_s is not None and unpriced.mean_latency_s is not None
    assert overview.total.cost_usd == priced.cost_usd
