"""The counts of one ``RunEvaluation`` call, kept as its results stream out, and what the call adds to its
recorded run (:class:`~evaluator_service.state.replay_runs.ReplayRunCall`) once it finished.

A case's production verdict is what the client sent with it (``EvaluationCase.production_passed``): the
production pass rate and the changed-case counts are over the cases that had one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from evaluator_service.state.replay_runs import ReplayRunCall

MAX_RUN_ID_CHARS = 200


@dataclass
class ReplayTally:
    """Counts of one call's cases; :meth:`add` each result as it arrives."""

    production: dict[str, bool]
    """Production verdicts by case id (cases sent without one are absent)."""
    cases: int = 0
    scored: int = 0
    passed: int = 0
    errors: int = 0
    pass_to_fail: int = 0
    fail_to_pass: int = 0

    def add(self, case_id: str, passed: bool | None) -> None:
        """One case's result: ``None`` is a scoring error."""
        self.cases += 1
        if passed is None:
            self.errors += 1
            return
        self.scored += 1
        self.passed += passed
        before = self.production.get(case_id)
        if before is True and not passed:
            self.pass_to_fail += 1
        elif before is False and passed:
            self.fail_to_pass += 1

    def call(self, *, run_id: str, at: float, scorer: str, scorer_version: int, scorer_source: str,
             dataset: str, dataset_version: int | None, planned_cases: int) -> ReplayRunCall:
        """What this finished call adds to run ``run_id`` (a fresh id when the client gave none)."""
        return ReplayRunCall(
            run_id=run_id[:MAX_RUN_ID_CHARS] or uuid.uuid4().hex, at=at, scorer=scorer,
            scorer_version=scorer_version, scorer_source=scorer_source, dataset=dataset,
            dataset_version=dataset_version, planned_cases=max(planned_cases, self.cases), cases=self.cases,
            scored=self.scored, passed=self.passed, errors=self.errors,
            production_cases=len(self.production),
            production_passed=sum(self.production.values()), pass_to_fail=self.pass_to_fail,
            fail_to_pass=self.fail_to_pass)
