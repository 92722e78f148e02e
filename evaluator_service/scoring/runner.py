"""Runs one evaluation request against its scorer with the evaluator's safety rails.

Written once for every kind of scorer: a global concurrency limit (semaphore), a per-scorer rate budget
(token bucket), a per-attempt timeout, retries with exponential backoff and full jitter for
:class:`TransientScorerError` and timeouts, and an automatic durable pause on :class:`FatalScorerError`.
:meth:`ScorerRunner.run` never raises: every failure becomes a :class:`ScoreResult` carrying the reason.
:meth:`ScorerRunner.run_inline` is the fast path for scorers marked ``inline`` (quick, never awaiting):
it runs them on the spot, without a task per call, and hands anything that needs waiting (a rate budget,
a retry, a pause) back to :meth:`ScorerRunner.run`.

LLM judge calls (scorers with a true ``calls_judge``) are bounded three ways against hostile spans (one
span listing a thousand requests caused a thousand judge calls in two seconds): a :class:`JudgeCalls`
budget per span (``scoring.judge_calls_per_span``, retries included; a request over it ends with a
``limit`` error recorded on the span), a rate over all judges (``scoring.judge_calls_per_s``) and a rate per
judge scorer (``scoring.judge_calls_per_s_per_scorer``, or the scorer's own ``rate_limit``); calls over a
rate wait their turn, so the spans behind them stay in the durable queue, but never longer than
``scoring.judge_rate_wait_s``: a call that would wait longer is not made and ends with a ``limit`` error
recorded on its span (counted in ``judgeval.evaluator.scoring.errors``), so a flood of judge requests
cannot pile up waiting calls without end.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from judgeval.protocol.evaluation_request import EvaluationRequest

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import (
    FatalScorerError,
    ScoreOutcome,
    Scorer,
    ScoreResult,
    ScoringError,
    TransientScorerError,
)
from evaluator_service.scoring.pause import PauseRegistry
from evaluator_service.scoring.rate_budget import TokenBucket, reserve_together
from evaluator_service.scoring.resolution import ScorerChain
from evaluator_service.scoring.settings import ScorerLimits, ScoringConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScorerPolicy:
    """Timeout, retries and rate budget of one scorer."""

    timeout_s: float
    max_retries: int
    rate_limit: float | None = None


InlineMeasurement = tuple[str, str | None, float]
"""What one inline scoring call records: scorer name, error kind (``None``: scored), seconds."""


class JudgeCalls:
    """The judge calls one span may still cause; :meth:`ScorerRunner.span_budget` makes one per span."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self) -> bool:
        """Count one call; ``False`` (and nothing counted) when the budget is spent."""
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def give_back(self) -> None:
        """Undo one :meth:`take` whose call was never made."""
        self.used -= 1


class _Failed(Exception):
    """Internal: the request ends without a score."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class ScorerRunner:
    """Resolves and runs scorers; one instance per evaluator."""

    def __init__(
        self,
        chain: ScorerChain,
        pauses: PauseRegistry,
        scoring: ScoringConfig,
        limits: Mapping[str, ScorerLimits],
        metrics: EvaluatorMetrics,
    ) -> None:
        self._chain = chain
        self._pauses = pauses
        self._scoring = scoring
        self._metrics = metrics
        self._semaphore = asyncio.Semaphore(scoring.concurrency)
        self._default = ScorerPolicy(scoring.timeout_s, scoring.max_retries)
        self._policies = {
            name: ScorerPolicy(
                timeout_s=lim.timeout_s or scoring.timeout_s,
                max_retries=scoring.max_retries if lim.max_retries is None else lim.max_retries,
                rate_limit=lim.rate_limit,
            )
            for name, lim in limits.items()
        }
        self._buckets = {
            name: TokenBucket(p.rate_limit) for name, p in self._policies.items() if p.rate_limit
        }
        self._judge_bucket = TokenBucket(scoring.judge_calls_per_s)
        self._judge_scorer_buckets: dict[str, TokenBucket] = {}

    @property
    def judge_bucket(self) -> TokenBucket:
        """The rate over all LLM judges (``scoring.judge_calls_per_s``), shared with trajectory scoring."""
        return self._judge_bucket

    def span_budget(self) -> JudgeCalls:
        """A fresh judge-call budget for one span's requests (pass it to every :meth:`run` of that span)."""
        return JudgeCalls(self._scoring.judge_calls_per_span)

    async def run(self, request: EvaluationRequest, span_fields: Mapping[str, Any],
                  judge_calls: JudgeCalls | None = None) -> ScoreResult:
        """Score ``request``; ``span_fields`` are offered to scorers that read the span itself, and
        ``judge_calls`` is the span's budget (``None``: a budget for this request alone)."""
        name = request.scorer.name
        started = time.monotonic()
        try:
            outcome = await self._run_checked(request, span_fields, judge_calls or self.span_budget())
        except _Failed as failure:
            self._metrics.scoring_error(name, failure.kind)
            self._metrics.scoring_finished(name, elapsed := time.monotonic() - started)
            return ScoreResult(name, request.scorer.threshold, error_kind=failure.kind,
                               error_message=failure.message, latency_s=elapsed)
        self._metrics.scoring_finished(name, elapsed := time.monotonic() - started)
        return ScoreResult(name, request.scorer.threshold, outcome=outcome, latency_s=elapsed,
                           cost_usd=outcome.cost_usd)

    def run_inline(
        self, request: EvaluationRequest, span_fields: Mapping[str, Any],
        measurements: list[InlineMeasurement] | None = None,
    ) -> ScoreResult | None:
        """Score ``request`` right now if its scorer is ``inline`` and nothing has to wait; else ``None``
        (call :meth:`run`). Paused and unknown scorers are answered here too: they need no waiting.

        With ``measurements``, the metrics of this call are appended there instead of recorded; the caller
        passes them to :meth:`record` once the span's result is kept (a span scored again drops them)."""
        name = request.scorer.name
        started = time.monotonic()
        try:
            outcome = self._inline_checked(request, span_fields)
        except _Failed as failure:
            self._measure(measurements, (name, failure.kind, elapsed := time.monotonic() - started))
            return ScoreResult(name, request.scorer.threshold, error_kind=failure.kind,
                               error_message=failure.message, latency_s=elapsed)
        if outcome is None:
            return None
        self._measure(measurements, (name, None, elapsed := time.monotonic() - started))
        return ScoreResult(name, request.scorer.threshold, outcome=outcome, latency_s=elapsed,
                           cost_usd=outcome.cost_usd)

    def _measure(self, into: list[InlineMeasurement] | None, measurement: InlineMeasurement) -> None:
        if into is None:
            self.record(measurement)
        else:
            into.append(measurement)

    def record(self, *measurements: InlineMeasurement) -> None:
        """Record the metrics :meth:`run_inline` deferred."""
        for name, error_kind, seconds in measurements:
            if error_kind is not None:
                self._metrics.scoring_error(name, error_kind)
            self._metrics.scoring_finished(name, seconds)

    def _inline_checked(
        self, request: EvaluationRequest, span_fields: Mapping[str, Any]
    ) -> ScoreOutcome | None:
        name = request.scorer.name
        scorer = self._resolve(request)
        if not getattr(scorer, "inline", False) or name in self._buckets:
            return None
        if getattr(scorer, "reads_span", False):
            example = {**span_fields, **request.example}
            request = EvaluationRequest(request.scorer, example, request.sampling_rate)
        coroutine = scorer.score(request.example, request)
        try:
            coroutine.send(None)
        except StopIteration as finished:
            return cast(ScoreOutcome, finished.value)
        except (TransientScorerError, FatalScorerError):
            return None  # retries and pauses wait: the async path runs it again
        except ScoringError as exc:
            raise _Failed(exc.kind, str(exc)) from None
        except Exception as exc:  # a scorer's bug must not take the runner down
            logger.exception("scorer %r raised", name)
            raise _Failed("scorer_error", f"{type(exc).__name__}: {exc}") from None
        coroutine.close()  # it awaited after all: not inline-safe, so the async path runs it again
        return None

    def _resolve(self, request: EvaluationRequest) -> Scorer:
        """The request's scorer; ``_Failed`` when it is paused or unknown."""
        name = request.scorer.name
        paused = self._pauses.reason(name)
        if paused is not None:
            raise _Failed("paused", f"scorer is paused: {paused}")
        scorer = self._chain.resolve(request.scorer)
        if scorer is None:
            raise _Failed("unknown_scorer", f"no scorer named {name!r} on this evaluator")
        return scorer

    async def _run_checked(self, request: EvaluationRequest, span_fields: Mapping[str, Any],
                           judge_calls: JudgeCalls) -> ScoreOutcome:
        name = request.scorer.name
        scorer = self._resolve(request)
        if getattr(scorer, "reads_span", False):
            example = {**span_fields, **request.example}
            request = EvaluationRequest(request.scorer, example, request.sampling_rate)
        policy = self._policies.get(name, self._default)
        attempt = 0
        while True:
            try:
                return await self._attempt(scorer, request, policy, judge_calls)
            except _Failed as failure:
                if failure.kind not in ("transient", "timeout") or attempt >= policy.max_retries:
                    raise
                self._metrics.scoring_error(name, failure.kind)
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1

    async def _attempt(
        self, scorer: Scorer, request: EvaluationRequest, policy: ScorerPolicy, judge_calls: JudgeCalls
    ) -> ScoreOutcome:
        name = request.scorer.name
        bucket = self._buckets.get(name)
        if getattr(scorer, "calls_judge", False):
            # Counted before the first await, so a span's requests take the budget in their order.
            if not judge_calls.take():
                raise _Failed("limit", f"not run: this span already caused {judge_calls.limit} LLM judge "
                                       "calls (scoring.judge_calls_per_span)")
            await self._judge_turn(name, bucket or self._judge_scorer_bucket(name), judge_calls)
        elif bucket is not None:
            await bucket.acquire()
        async with self._semaphore:
            try:
                async with asyncio.timeout(policy.timeout_s):  # unlike wait_for, no extra task per call
                    return await scorer.score(request.example, request)
            except TimeoutError:
                raise _Failed("timeout", f"no answer within {policy.timeout_s:g}s") from None
            except FatalScorerError as exc:
                if self._pauses.reason(name) is None:  # concurrent requests hit the same error once each
                    await self._pauses.pause(name, str(exc) or exc.kind)
                raise _Failed(exc.kind, str(exc)) from None
            except TransientScorerError as exc:
                raise _Failed(exc.kind, str(exc)) from None
            except ScoringError as exc:
                raise _Failed(exc.kind, str(exc)) from None
            except Exception as exc:  # a scorer's bug must not take the runner down
                logger.exception("scorer %r raised", name)
                raise _Failed("scorer_error", f"{type(exc).__name__}: {exc}") from None

    def _judge_scorer_bucket(self, name: str) -> TokenBucket:
        bucket = self._judge_scorer_buckets.get(name)
        if bucket is None:
            rate = self._scoring.judge_calls_per_s_per_scorer
            bucket = self._judge_scorer_buckets[name] = TokenBucket(rate)
        return bucket

    async def _judge_turn(self, name: str, scorer_bucket: TokenBucket, judge_calls: JudgeCalls) -> None:
        """Wait for this judge call's turn under the per-second limits, at most ``judge_rate_wait_s``;
        a call that would wait longer ends with a ``limit`` error (and gives its span budget back)."""
        max_wait = self._scoring.judge_rate_wait_s
        turn = reserve_together((self._judge_bucket, scorer_bucket), max_wait)
        if isinstance(turn, TokenBucket):
            judge_calls.give_back()
            which = ("all LLM judges together (scoring.judge_calls_per_s)" if turn is self._judge_bucket
                     else f"judge {name!r} (its rate_limit or scoring.judge_calls_per_s_per_scorer)")
            raise _Failed("limit", f"not run: {which} may make {turn.rate:g} calls per second, and this "
                                   f"call would wait more than {max_wait:g}s (scoring.judge_rate_wait_s)")
        if turn > 0:
            await asyncio.sleep(turn)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._scoring.backoff_max_s, self._scoring.backoff_initial_s * 2**attempt)
        return random.uniform(0, ceiling)  # full jitter spreads retries of many spans apart
