"""The contract between the evaluator's scorer runner and every kind of scorer.

A scorer is anything with a ``name`` and an ``async score(example, request)`` that returns a
:class:`ScoreOutcome` or raises one of the :class:`ScoringError` subclasses below. Built-in scorers,
YAML-configured LLM judges and uploaded (sandboxed) scorers all implement it, so the runner's timeout,
retry, pause and rate-budget logic is written once.

``score`` must not block the event loop: CPU-bound or untrusted work goes to a thread or a sandbox process.
A scorer whose ``score`` never awaits anything and is quick (regex, keyword, ...) may say so with a true
``inline`` attribute: the runner then runs it to completion directly, without a task or a timeout (which
could not interrupt it anyway), which is several times cheaper per span.

What the runner hands on for each request is a :class:`ScoreResult` (a score, or why there is none); the
dispatcher's enrichment, alerts and behaviors all read it, so it lives here, below all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from judgeval.data.trace import Trace
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.protocol.trajectory_request import TrajectoryRequest

from evaluator_service.errors import EvaluatorError


@dataclass(frozen=True, slots=True)
class ScoreOutcome:
    """One score. ``success`` defaults to ``value >= threshold`` when the scorer leaves it ``None``."""

    value: float
    reason: str | None = None
    success: bool | None = None
    label: str | None = None
    cost_usd: float | None = None
    """What producing this score cost (an LLM judge's call), when the scorer knows it."""


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """What happened to one evaluation request: a score, or the reason there is none."""

    scorer_name: str
    threshold: float
    outcome: ScoreOutcome | None = None
    error_kind: str | None = None
    error_message: str = ""
    latency_s: float | None = None
    """How long the runner spent on the request (retries and rate-budget waits included); ``None`` when
    not measured."""
    cost_usd: float | None = None
    """What the judge call cost, when the scorer reports it (``ScoreOutcome.cost_usd``)."""

    @property
    def succeeded(self) -> bool:
        """The scorer produced a score that met its threshold (``False`` for an error too: an error is
        neither a pass nor a fail, so code that counts failures reads :attr:`failed`)."""
        if self.outcome is None:
            return False
        if self.outcome.success is not None:
            return self.outcome.success
        return self.outcome.value >= self.threshold

    @property
    def failed(self) -> bool:
        """The scorer produced a score that missed its threshold; never true for a scoring error."""
        return self.outcome is not None and not self.succeeded

    @property
    def passed(self) -> bool | None:
        """:attr:`succeeded`, or ``None`` when there is no score (what the span-level verdict reads)."""
        return None if self.outcome is None else self.succeeded


class ScoringError(EvaluatorError):
    """Scoring did not produce a score. ``kind`` is a short machine-readable word used in metrics and
    in the ``judgeval.eval.error`` attribute."""

    kind = "error"


class TransientScorerError(ScoringError):
    """Worth retrying with backoff: judge 429s, 5xx, connection errors, judge-side timeouts."""

    kind = "transient"


class FatalScorerError(ScoringError):
    """The judge rejects our credentials or billing (401/403/402, insufficient quota). The runner pauses
    the scorer until an operator resumes it; retrying would only burn the budget."""

    kind = "auth"


class UnknownScorerError(ScoringError):
    """No scorer of that name (or version) exists on this evaluator."""

    kind = "unknown_scorer"


class InvalidExampleError(ScoringError):
    """The example lacks a field the scorer needs, or a field has the wrong type."""

    kind = "invalid_example"


class ScorerCrashedError(ScoringError):
    """The scorer's code raised, or its sandbox process died or exceeded a resource limit."""

    kind = "scorer_error"


class ScorerLimitError(ScoringError):
    """Scoring this request would exceed a bound the evaluator sets against hostile input: a deterministic
    scorer's time limit, the size of a judge prompt, the judge calls one span may cause. Not retried: the
    same input would hit the same bound."""

    kind = "limit"


class ScorerKindError(ScoringError):
    """The request names a scorer of the other kind: a trajectory scorer (a ``TraceScorer``, a built-in
    trajectory type) asked to score one span, or a span scorer asked to score a trajectory. Not retried."""

    kind = "wrong_kind"


class Scorer(Protocol):
    """What the scorer runner runs."""

    name: str

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome: ...


class ScorerSource(Protocol):
    """Resolves a request's scorer reference; returns ``None`` when the name is not this source's."""

    def resolve(self, ref: ScorerRef) -> Scorer | None: ...


class TrajectoryScorer(Protocol):
    """What the trajectory scorer runner runs: a scorer of a whole trace or session (built-in, LLM agent
    judge, or an uploaded ``TraceScorer`` in the sandbox). The same rules as :class:`Scorer`: return a
    :class:`ScoreOutcome` or raise a :class:`ScoringError`, and never block the event loop."""

    name: str

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome: ...


class TrajectoryScorerSource(Protocol):
    """Resolves a trajectory request's scorer reference; ``None`` when the name is not this source's."""

    def resolve(self, ref: ScorerRef) -> TrajectoryScorer | None: ...
