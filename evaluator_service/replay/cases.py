"""Scoring a replay's cases with the production runner: the same timeouts, retries, judge limits, sandbox.

Each case is one example (a JSON object) and its threshold. Cases run concurrently (at most
``concurrency`` at a time) and their results are yielded as they finish. A case that cannot be scored, an
example that is not a JSON object included, yields a :class:`ScoreResult` with the error kind and reason:
one bad case never fails the others or the run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from judgeval.protocol.evaluation_request import EvaluationRequest

from evaluator_service.replay.scorer_choice import ReplayScorer
from evaluator_service.scoring.contract import InvalidExampleError, ScoreResult
from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.scoring.runner import ScorerRunner

logger = logging.getLogger(__name__)

MAX_CASES_PER_CALL = 1000
"""Cases one ``RunEvaluation`` call may carry (clients split larger runs)."""


@dataclass(frozen=True, slots=True)
class ReplayCase:
    """One example to score, under the caller's id."""

    id: str
    example_json: str
    threshold: float


class ReplayPauses:
    """Production's paused scorers for a replay's runner: honoured, never written. A replayed scorer whose
    judge rejects its credentials (say, a new version under test with a wrong key name) fails its cases
    with ``auth``; pausing it would stop production's scoring of that name on every replica."""

    def __init__(self, production: PauseRegistry) -> None:
        self._production = production

    def reason(self, name: str) -> str | None:
        return self._production.reason(name)

    async def pause(self, name: str, reason: str) -> None:
        logger.warning("replay of scorer %r: %s (production scoring is not paused by a replay)", name, reason)


def decode_example(case: ReplayCase) -> dict[str, Any] | ScoreResult:
    """The case's example, or the ``invalid_example`` result saying why it is unusable."""
    try:
        example = json.loads(case.example_json)
    except (ValueError, RecursionError) as exc:
        return _invalid(case, f"example is not valid JSON: {exc}")
    if not isinstance(example, dict):
        return _invalid(case, f"example must be a JSON object, got {type(example).__name__}")
    return example


def _invalid(case: ReplayCase, message: str) -> ScoreResult:
    return ScoreResult("", case.threshold, error_kind=InvalidExampleError.kind, error_message=message)


async def score_cases(runner: ScorerRunner, scorer: ReplayScorer, cases: Sequence[ReplayCase],
                      concurrency: int) -> AsyncGenerator[tuple[ReplayCase, ScoreResult], None]:
    """Yield ``(case, result)`` for every case, in completion order. Closing the iterator early (the
    client went away) cancels the cases still running."""
    results: asyncio.Queue[tuple[ReplayCase, ScoreResult]] = asyncio.Queue()
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(case: ReplayCase) -> None:
        async with gate:
            example = decode_example(case)
            if isinstance(example, ScoreResult):
                result = replace(example, scorer_name=scorer.ref.name)
            else:
                request = EvaluationRequest(replace(scorer.ref, threshold=case.threshold), example)
                result = await runner.run(request, {})  # never raises: errors are results
            await results.put((case, result))

    tasks = [asyncio.create_task(one(case)) for case in cases]
    try:
        for _ in cases:
            yield await results.get()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
