"""What a replay found: pass rates, per-behavior pass rates, and the cases that changed against production.

Each :class:`CaseResult` pairs a stored interaction (its production score and verdict, its behavior) with
the replay's result. The pass rate counts scored cases only (``passed / (passed + failed)``); cases that
could not be scored (a scoring error, an agent that raised) are counted apart and listed, never folded into
either side. :meth:`EvaluationReport.to_json` is the machine-readable form ``judgeval eval run --json``
prints (its shape is pinned by tests and documented in the README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PASS_TO_FAIL = "pass_to_fail"
FAIL_TO_PASS = "fail_to_pass"


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One replayed case: the stored production result and the replay's."""

    id: str
    """The interaction record's id (``trace:span:scorer``)."""
    trace_id: str
    span_id: str
    behavior_id: str | None
    example: dict[str, Any]
    """What the replay scored (with the agent's new output when an agent was re-run)."""
    baseline_score: float | None
    baseline_passed: bool | None
    score: float | None = None
    passed: bool | None = None
    reason: str = ""
    error_kind: str | None = None
    """Why the replay has no score (a scoring error kind, or ``agent_error``); ``None`` when scored."""

    @property
    def change(self) -> str | None:
        """:data:`PASS_TO_FAIL`, :data:`FAIL_TO_PASS`, or ``None`` (same verdict, or one side unscored)."""
        if self.baseline_passed is None or self.passed is None or self.baseline_passed == self.passed:
            return None
        return FAIL_TO_PASS if self.passed else PASS_TO_FAIL

    @property
    def score_delta(self) -> float | None:
        if self.score is None or self.baseline_score is None:
            return None
        return self.score - self.baseline_score

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "change": self.change, "score_delta": self.score_delta}


@dataclass(frozen=True, slots=True)
class BehaviorPassRate:
    """The replay's pass rate among the cases production had placed in one behavior."""

    behavior_id: str | None
    """``None`` for the cases in no behavior (passing ones, usually)."""
    cases: int
    scored: int
    passed: int
    baseline_passed: int
    pass_rate: float | None
    baseline_pass_rate: float | None


@dataclass(frozen=True)
class EvaluationReport:
    """The outcome of one replay (see the module doc)."""

    scorer: str
    scorer_version: int
    """The uploaded version that ran; 0 for a built-in or YAML scorer."""
    scorer_source: str
    """``uploaded`` or ``builtin``."""
    cases: Sequence[CaseResult]
    agent: str | None = None
    """The re-run agent (``module:function`` or its qualified name), ``None`` when outputs were replayed."""
    source: str = ""
    """Where the cases came from (a records file, a dataset)."""
    duplicates: int = 0
    """Records left out because an earlier one had the same id (the same span and scorer)."""
    behaviors: list[BehaviorPassRate] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "behaviors", _behaviors(self.cases))

    @property
    def scored(self) -> int:
        return sum(c.passed is not None for c in self.cases)

    @property
    def passed(self) -> int:
        return sum(c.passed is True for c in self.cases)

    @property
    def failed(self) -> int:
        return sum(c.passed is False for c in self.cases)

    @property
    def errors(self) -> list[CaseResult]:
        """Cases without a replay score, in case order."""
        return [c for c in self.cases if c.passed is None]

    @property
    def pass_rate(self) -> float | None:
        """Passed over scored cases; ``None`` when no case was scored."""
        return _rate(self.passed, self.scored)

    @property
    def baseline_pass_rate(self) -> float | None:
        """Production's pass rate over the same cases (those it scored)."""
        return _rate(sum(c.baseline_passed is True for c in self.cases),
                     sum(c.baseline_passed is not None for c in self.cases))

    @property
    def pass_to_fail(self) -> list[CaseResult]:
        return [c for c in self.cases if c.change == PASS_TO_FAIL]

    @property
    def fail_to_pass(self) -> list[CaseResult]:
        return [c for c in self.cases if c.change == FAIL_TO_PASS]

    @property
    def score_changes(self) -> list[CaseResult]:
        """Cases whose score moved, largest move first (verdict changes included)."""
        moved = [c for c in self.cases if c.score_delta]
        return sorted(moved, key=lambda c: -abs(c.score_delta or 0.0))

    def below(self, min_pass_rate: float) -> bool:
        """Whether the pass rate misses ``min_pass_rate`` (no scored case misses any threshold)."""
        rate = self.pass_rate
        return rate is None or rate < min_pass_rate

    def to_json(self, min_pass_rate: float | None = None) -> dict[str, Any]:
        """The ``--json`` form."""
        return {
            "scorer": {"name": self.scorer, "version": self.scorer_version or None,
                       "source": self.scorer_source},
            "agent": self.agent,
            "source": self.source,
            "cases": len(self.cases),
            "duplicates": self.duplicates,
            "scored": self.scored,
            "passed": self.passed,
            "failed": self.failed,
            "errors": len(self.errors),
            "pass_rate": self.pass_rate,
            "baseline_pass_rate": self.baseline_pass_rate,
            "min_pass_rate": min_pass_rate,
            "below_min_pass_rate": None if min_pass_rate is None else self.below(min_pass_rate),
            "behaviors": [asdict(b) for b in self.behaviors],
            "changed": {
                PASS_TO_FAIL: [c.id for c in self.pass_to_fail],
                FAIL_TO_PASS: [c.id for c in self.fail_to_pass],
                "score_deltas": [{"id": c.id, "baseline_score": c.baseline_score, "score": c.score,
                                  "delta": c.score_delta} for c in self.score_changes],
            },
            "error_cases": [{"id": c.id, "error_kind": c.error_kind, "reason": c.reason}
                            for c in self.errors],
            "results": [c.to_json() for c in self.cases],
        }


def _rate(passed: int, scored: int) -> float | None:
    return passed / scored if scored else None


def _behaviors(cases: Sequence[CaseResult]) -> list[BehaviorPassRate]:
    groups: dict[str | None, list[CaseResult]] = {}
    for case in cases:
        groups.setdefault(case.behavior_id or None, []).append(case)
    rates = []
    for behavior, members in groups.items():
        scored = sum(c.passed is not None for c in members)
        passed = sum(c.passed is True for c in members)
        baseline_scored = sum(c.baseline_passed is not None for c in members)
        baseline_passed = sum(c.baseline_passed is True for c in members)
        rates.append(BehaviorPassRate(behavior, len(members), scored, passed, baseline_passed,
                                      _rate(passed, scored), _rate(baseline_passed, baseline_scored)))
    return sorted(rates, key=lambda r: (r.behavior_id is None, -r.cases, r.behavior_id or ""))
