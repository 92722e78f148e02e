"""Recorded replay runs in the shared state, on SQLite and PostgreSQL: the calls of one run add up, another
replica lists them newest first (all, or one scorer's), and only the newest ``keep_at_most`` runs stay."""

from __future__ import annotations

from dataclasses import replace

from evaluator_service.state import open_shared_state
from evaluator_service.state.replay_runs import ReplayRunCall

CALL = ReplayRunCall(run_id="run-1", at=100.0, scorer="Package Inquiry Scorer", scorer_version=2,
                     scorer_source="uploaded", dataset="failing-inquiries", dataset_version=3,
                     planned_cases=7, cases=4, scored=3, passed=1, errors=1, production_cases=4,
                     production_passed=3, pass_to_fail=2, fail_to_pass=0)


async def test_calls_of_one_run_add_up_and_show_on_another_replica(state_url: str) -> None:
    writer, reader = open_shared_state(state_url), open_shared_state(state_url)
    await writer.open()
    await reader.open()
    try:
        await writer.record_replay_call(CALL, keep_at_most=10)
        [first] = await reader.replay_runs()
        assert (first.cases, first.planned_cases, first.calls) == (4, 7, 1)
        assert not first.complete
        await writer.record_replay_call(replace(CALL, at=105.0, cases=3, scored=3, passed=3, errors=0,
                                                production_cases=2, production_passed=0, pass_to_fail=0,
                                                fail_to_pass=2), keep_at_most=10)
        [run] = await reader.replay_runs()
        assert run.complete and run.calls == 2
        assert (run.started_at, run.at) == (100.0, 105.0)
        assert (run.cases, run.scored, run.passed, run.errors) == (7, 6, 4, 1)
        assert (run.production_cases, run.production_passed) == (6, 3)
        assert (run.pass_to_fail, run.fail_to_pass) == (2, 2)
        assert run.pass_rate == 4 / 6 and run.production_pass_rate == 0.5
        assert (run.dataset, run.dataset_version, run.scorer_version) == ("failing-inquiries", 3, 2)
    finally:
        await writer.close()
        await reader.close()


async def test_newest_first_by_scorer_and_bounded_by_count(state_url: str) -> None:
    state = open_shared_state(state_url)
    await state.open()
    try:
        for i in range(5):
            scorer = "Package Inquiry Scorer" if i % 2 else "faithfulness"
            await state.record_replay_call(
                replace(CALL, run_id=f"run-{i}", at=100.0 + i, scorer=scorer, dataset="",
                        dataset_version=None, scorer_version=0, scorer_source="builtin"), keep_at_most=3)
        runs = await state.replay_runs()
        assert [r.run_id for r in runs] == ["run-4", "run-3", "run-2"]  # run-0 and run-1 pruned
        assert runs[0].dataset == "" and runs[0].dataset_version is None
        assert [r.run_id for r in await state.replay_runs("Package Inquiry Scorer")] == ["run-3"]
        assert [r.run_id for r in await state.replay_runs(limit=1)] == ["run-4"]
    finally:
        await state.close()
