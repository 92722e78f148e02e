"""The counts of one ``RunEvaluation`` call, kept as its results stream out, and what the call adds to its
recorded run (:class:`~evaluator_service.state.replay_runs.ReplayRunCall`): the cases finished since the
last record, taken while the call runs (so an evaluator restart mid-call keeps what finished) and once
more when it ends.

A case's production verdict is what the client sent with it (``EvaluationCase.production_passed``): the
production pass rate and the changed-case counts are over the finished cases that had one.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field

from evaluator_service.state.replay_runs import ReplayRunCall

MAX_RUN_ID_CHARS = 200


@dataclass
class _Counts:
    cases: int = 0
    scored: int = 0
    passed: int = 0
    errors: int = 0
    production_cases: int = 0
    production_passed: int = 0
    pass_to_fail: int = 0
    fail_to_pass: int = 0

    def minus(self, other: _Counts) -> _Counts:
        return _Counts(*(getattr(self, f.name) - getattr(other, f.name) for f in dataclasses.fields(self)))


@dataclass
class ReplayTally:
    """Counts of one call's cases; :meth:`add` each result as it arrives, :meth:`take` what to record."""

    production: dict[str, bool]
    """Production verdicts by case id (cases sent without one are absent)."""
    run_id: str = ""
    """The client's run id (a fresh one when it gave none, so the parts of one call share it)."""
    total: _Counts = field(default_factory=_Counts)
    recorded: _Counts = field(default_factory=_Counts)

    def __post_init__(self) -> None:
        self.run_id = self.run_id[:MAX_RUN_ID_CHARS] or uuid.uuid4().hex

    @property
    def scored(self) -> int:
        return self.total.scored

    @property
    def errors(self) -> int:
        return self.total.errors

    @property
    def pending(self) -> bool:
        """Cases finished since the last :meth:`take`."""
        return self.total.cases > self.recorded.cases

    def add(self, case_id: str, passed: bool | None) -> None:
        """One case's result: ``None`` is a scoring error."""
        t = self.total
        t.cases += 1
        before = self.production.get(case_id)
        if before is not None:
            t.production_cases += 1
            t.production_passed += before
        if passed is None:
            t.errors += 1
            return
        t.scored += 1
        t.passed += passed
        if before is True and not passed:
            t.pass_to_fail += 1
        elif before is False and passed:
            t.fail_to_pass += 1

    def take(self, *, at: float, scorer: str, scorer_version: int, scorer_source: str, dataset: str,
             dataset_version: int | None, planned_cases: int, ends_call: bool) -> ReplayRunCall:
        """What the cases finished since the last take add to the run (``ends_call``: and that this call
        is over, finished or cut short); ``planned_cases`` is the whole run's, as the client announced it
        (at least this call's cases)."""
        delta = self.total.minus(self.recorded)
        self.recorded = dataclasses.replace(self.total)
        return ReplayRunCall(
            run_id=self.run_id, at=at, scorer=scorer, scorer_version=scorer_version,
            scorer_source=scorer_source, dataset=dataset, dataset_version=dataset_version,
            planned_cases=planned_cases, calls=int(ends_call), **dataclasses.asdict(delta))
