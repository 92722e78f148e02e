"""Runs one trajectory request against its trajectory scorer with the span runner's safety rails.

The same semantics as :class:`~evaluator_service.scoring.runner.ScorerRunner` where they apply: the scorer's
name resolves through the sources in order (``UnknownScorerError`` when none has it), a paused scorer is not
run (``paused``), every attempt has ``scoring.timeout_s`` (``timeout``), transient errors and timeouts are
retried up to ``scoring.max_retries`` times with exponential backoff and full jitter, and a
:class:`~evaluator_service.scoring.contract.FatalScorerError` pauses the scorer durably. :meth:`run` never
raises: every failure becomes a :class:`~evaluator_service.scoring.contract.ScoreResult` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence

from judgeval.data.trace import Trace
from judgeval.protocol.trajectory_request import TrajectoryRequest

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import (
    FatalScorerError,
    ScoreResult,
    ScoringError,
    TrajectoryScorer,
    TrajectoryScorerSource,
)
from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.scoring.settings import ScoringConfig

logger = logging.getLogger(__name__)


class TrajectoryScorerRunner:
    """Scores trajectories: resolve, check pauses, time out, retry, pause on fatal errors."""

    def __init__(
        self,
        sources: Sequence[TrajectoryScorerSource],
        pauses: PauseRegistry | None,
        scoring: ScoringConfig,
        metrics: EvaluatorMetrics,
    ) -> None:
        self.sources = list(sources)
        self._pauses = pauses
        self._scoring = scoring
        self._metrics = metrics

    def resolve(self, request: TrajectoryRequest) -> TrajectoryScorer | None:
        for source in self.sources:
            scorer = source.resolve(request.scorer)
            if scorer is not None:
                return scorer
        return None

    async def run(self, trace: Trace, request: TrajectoryRequest) -> ScoreResult:
        name, threshold = request.scorer.name, request.scorer.threshold
        scorer = self.resolve(request)
        if scorer is None:
            return self._error(
                name,
                threshold,
                "unknown_scorer",
                f"no trajectory scorer named {name!r} on this evaluator (built-ins, uploaded TraceScorers)",
            )
        started = time.monotonic()
        attempt = 0
        while True:
            paused = self._pauses.reason(name) if self._pauses is not None else None
            if paused is not None:
                return self._error(name, threshold, "paused", f"scorer is paused: {paused}")
            try:
                async with asyncio.timeout(self._scoring.timeout_s):
                    outcome = await scorer.score_trajectory(trace, request)
                self._metrics.scoring_finished(name, time.monotonic() - started)
                return ScoreResult(name, threshold, outcome=outcome)
            except TimeoutError:
                kind, message = "timeout", f"no answer within {self._scoring.timeout_s:g}s"
            except FatalScorerError as exc:
                if self._pauses is not None and self._pauses.reason(name) is None:
                    await self._pauses.pause(name, str(exc) or exc.kind)
                return self._error(name, threshold, exc.kind, str(exc))
            except ScoringError as exc:
                kind, message = exc.kind, str(exc)
            except Exception as exc:  # a scorer's bug fails this trajectory's score, never the sweep
                logger.warning("trajectory scorer %s raised", name, exc_info=True)
                return self._error(name, threshold, "scorer_error", f"{type(exc).__name__}: {exc}")
            if kind not in ("transient", "timeout") or attempt >= self._scoring.max_retries:
                return self._error(name, threshold, kind, message)
            attempt += 1
            ceiling = min(self._scoring.backoff_max_s, self._scoring.backoff_initial_s * 2 ** (attempt - 1))
            await asyncio.sleep(random.uniform(0, ceiling))

    def _error(self, name: str, threshold: float, kind: str, message: str) -> ScoreResult:
        self._metrics.scoring_error(name, kind)
        return ScoreResult(name, threshold, error_kind=kind, error_message=message)
