"""Why a span that asked for a score got none: the reasons the console's "Not evaluated" page lists.

A scoring error's reason is the result's ``error_kind`` (the word the span's ``judgeval.eval.error`` and
the ``judgeval.evaluator.scoring.errors`` metric carry); a span that gets no result at all is
``invalid_request`` (its request payload could not be read) or ``dead_letter`` (a stage of its processing
failed; see :mod:`evaluator_service.dead_letters`); a trace marked for trajectory scoring whose bounding
span never arrived is ``unbounded_trajectory`` (no span id: only the trace is known). Kinds not listed
here (a scorer's own ``ScoringError`` subclass) are recorded as they are.
"""

from __future__ import annotations

REASONS: dict[str, str] = {
    "paused": "the scorer is paused (an operator paused it, or the judge rejected our credentials)",
    "unknown_scorer": "no scorer of that name (or version) on the evaluator",
    "timeout": "the scorer gave no answer in time, retries included",
    "limit": "a bound was hit: judge calls per span, the judge call rate, a prompt size or a scorer's time "
             "limit",
    "transient": "the judge kept failing (429, 5xx, connection errors) through every retry",
    "auth": "the judge rejected our credentials or billing; the scorer was paused",
    "invalid_example": "the example lacks a field the scorer needs, or a field has the wrong type",
    "scorer_error": "the scorer's code raised, or its sandbox process died or exceeded a resource limit",
    "wrong_kind": "a trajectory scorer was asked to score one span, or the other way round",
    "invalid_request": "the evaluation request on the span could not be read",
    "dead_letter": "the span could not be processed (it was exported marked failed with the reason)",
    "unbounded_trajectory": "a trace marked for trajectory scoring whose span carrying the request never "
                            "arrived (given up after trajectories.trace_idle_s)",
}
"""Every reason the evaluator itself produces, with what it means (the console shows it)."""


def describe(reason: str) -> str:
    """What ``reason`` means, or a generic line for a scorer's own error kind."""
    return REASONS.get(reason, f"the scorer reported an error of kind {reason!r}")
