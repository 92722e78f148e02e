"""Dataset replays (``judgeval eval run``, ``evaluate_dataset``) in the shared state, so the console and
every replica can list them after the client that ran them has gone.

A replay of more than one call's cases is several ``RunEvaluation`` calls sharing the client's run id. A
call adds the counts of its finished cases to the run's row as it goes (at most a second apart, see
:mod:`evaluator_service.admin.evaluation_servicer`) and once more when it ends, finished or cut short (its
client went away, the evaluator was stopped). So a run whose client went away before its last call, or
whose evaluator restarted midway, keeps the cases that finished and shows fewer ``cases`` than
``planned_cases`` (:attr:`ReplayRun.complete` is false); a run no case of which finished is not recorded.
Rows are bounded by count (``replay.max_runs``): the oldest runs go first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from evaluator_service.state import loop_schema
from evaluator_service.state.transaction import TransactionSource


@dataclass(frozen=True, slots=True)
class ReplayRunCall:
    """What one finished ``RunEvaluation`` call adds to its run."""

    run_id: str
    at: float
    scorer: str
    scorer_version: int
    """The uploaded version that ran; 0 for a built-in or YAML scorer."""
    scorer_source: str
    dataset: str
    """The stored dataset's name; empty when the client sent records of its own (a file, a list)."""
    dataset_version: int | None
    planned_cases: int
    """Cases of the whole run, as the client announced them (this call's cases when it did not)."""
    cases: int
    scored: int
    passed: int
    errors: int
    production_cases: int
    """Cases sent with their production verdict (the stored result of a pass or fail)."""
    production_passed: int
    pass_to_fail: int
    fail_to_pass: int
    calls: int = 1
    """1 when this record ends a call, 0 for the cases recorded while it still runs."""


@dataclass(frozen=True, slots=True)
class ReplayRun:
    """One recorded replay, its calls added up; ``started_at`` is when its first cases were recorded,
    ``calls`` the calls that ended."""

    run_id: str
    started_at: float
    at: float
    scorer: str
    scorer_version: int
    scorer_source: str
    dataset: str
    dataset_version: int | None
    planned_cases: int
    calls: int
    cases: int
    scored: int
    passed: int
    errors: int
    production_cases: int
    production_passed: int
    pass_to_fail: int
    fail_to_pass: int

    @property
    def complete(self) -> bool:
        """Every announced case was scored or errored (no call of the run was cut short)."""
        return self.cases >= self.planned_cases

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.scored if self.scored else None

    @property
    def production_pass_rate(self) -> float | None:
        """The production pass rate of the same cases (those sent with a production verdict)."""
        return self.production_passed / self.production_cases if self.production_cases else None


class ReplayRunState(Protocol):
    """The replay-run part of :class:`~evaluator_service.state.contract.SharedState`."""

    async def record_replay_call(self, call: ReplayRunCall, keep_at_most: int) -> None:
        """Add ``call`` to its run (creating the row) and delete all but the newest ``keep_at_most`` runs,
        in one transaction."""
        ...

    async def replay_runs(self, scorer: str | None = None, limit: int = 50) -> list[ReplayRun]:
        """The newest ``limit`` runs (of ``scorer`` only, if given), newest first."""
        ...


class SqlReplayRuns(TransactionSource):
    """:class:`ReplayRunState` over the backend's transactions (no change counter: nothing cached)."""

    async def record_replay_call(self, call: ReplayRunCall, keep_at_most: int) -> None:
        c = call
        async with self._transaction() as tx:
            await tx.execute(loop_schema.ADD_REPLAY_RUN_CALL, (
                c.run_id, c.at, c.at, c.scorer, c.scorer_version, c.scorer_source, c.dataset,
                c.dataset_version, c.planned_cases, c.calls, c.cases, c.scored, c.passed, c.errors,
                c.production_cases, c.production_passed, c.pass_to_fail, c.fail_to_pass))
            await tx.execute(loop_schema.PRUNE_REPLAY_RUNS, (keep_at_most,))

    async def replay_runs(self, scorer: str | None = None, limit: int = 50) -> list[ReplayRun]:
        async with self._transaction() as tx:
            if scorer is None:
                rows = await tx.execute(loop_schema.SELECT_REPLAY_RUNS, (limit,))
            else:
                rows = await tx.execute(loop_schema.SELECT_REPLAY_RUNS_OF, (scorer, limit))
        return [_run(row) for row in rows]


def _run(row: tuple[Any, ...]) -> ReplayRun:
    run_id, started_at, at, scorer, version, source, dataset, dataset_version, *counts = row
    return ReplayRun(str(run_id), float(started_at), float(at), str(scorer), int(version), str(source),
                     str(dataset), None if dataset_version is None else int(dataset_version),
                     *(int(n) for n in counts))
