"""Two evaluator replicas sharing a PostgreSQL state database score a session whose traces the collector
balanced onto both exactly once, from all of its traces, and once more after it resumes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack

from judgeval import semconv
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan

from evaluator_service.config import EvaluatorConfig
from tests.support.evaluator import running, wait_for
from tests.support.postgres_cluster import PostgresCluster
from tests.support.trajectories import (
    LOOP_SCORER,
    AgentRun,
    ManualClock,
    ScorerShelf,
    ToolLoopScorer,
    agent_run,
    export_feed,
    requests_value,
)

IDLE = 120.0


def _results(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.name.startswith("evaluate ")]


async def test_a_session_balanced_over_two_replicas_is_scored_once_from_all_its_traces(
    make_config: Callable[..., EvaluatorConfig],
    receiver: OtlpTraceReceiver,
    postgres: PostgresCluster,
    tmp_path,
) -> None:
    url = postgres.url(postgres.new_database())
    doc = {"state_db": url, "trajectories": {"grace_s": 5, "tick_s": 0.05, "session_idle_s": IDLE}}
    clock, scorers = ManualClock(), [ToolLoopScorer(), ToolLoopScorer()]

    def turn() -> AgentRun:
        return agent_run([("lookup_order", {"id": 7})], requests=requests_value("session"), session="chat-7")

    turns = [turn() for _ in range(3)]
    async with AsyncExitStack() as stack:
        apps = [
            await stack.enter_async_context(
                running(
                    make_config(doc, data_dir=tmp_path / f"replica-{i}"),
                    clock=clock,
                    trajectory_sources=[ScorerShelf({LOOP_SCORER: scorers[i]})],
                )
            )
            for i in range(2)
        ]
        # the load balancer put turns 1 and 2 on the first replica, turn 3 on the second
        for run, app in zip(turns, (apps[0], apps[0], apps[1]), strict=True):
            await export_feed(app, run.spans)
            clock.advance(30)

        async def sweep_both() -> None:
            for app in (*apps, *reversed(apps)):  # each order: neither replica may score alone
                await app.trajectories.sweeper.sweep()

        # the first replica's own turns are idle before the session is: it must wait for the second's part
        clock.advance(IDLE - 55)
        await sweep_both()
        assert _results(receiver.spans) == []
        clock.advance(30)
        await sweep_both()
        await sweep_both()
        [first] = _results(await wait_for(receiver, lambda s: len(_results(s)) >= 1))

        fourth = turn()
        await export_feed(apps[1], fourth.spans)
        clock.advance(IDLE + 1)
        await sweep_both()
        await sweep_both()
        received = await wait_for(receiver, lambda s: len(_results(s)) >= 2)
        clock.advance(IDLE * 2)
        await sweep_both()
    results = _results(received)
    assert len(results) == 2, "scored once per period of activity, by one replica"
    second = next(r for r in results if r.span_id != first.span_id)
    ids = [t.trace_id.hex() for t in turns]
    assert list(first.attributes[semconv.JUDGEVAL_TRAJECTORY_TRACE_IDS]) == ids
    assert first.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == 9
    assert first.attributes[score_attribute(LOOP_SCORER, ScoreField.VALUE)] == 0.0
    assert list(second.attributes[semconv.JUDGEVAL_TRAJECTORY_TRACE_IDS]) == [*ids, fourth.trace_id.hex()]
    assert (
        first.attributes[semconv.JUDGEVAL_TRAJECTORY_REVISION],
        second.attributes[semconv.JUDGEVAL_TRAJECTORY_REVISION],
    ) == (0, 1)
    assert (
        first.attributes[semconv.JUDGEVAL_TRAJECTORY_RESULT_KEY]
        == second.attributes[semconv.JUDGEVAL_TRAJECTORY_RESULT_KEY]
    )
    assert len(scorers[0].seen) + len(scorers[1].seen) == 2
