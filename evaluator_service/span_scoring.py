"""What the scoring dispatcher does to one span, split from :mod:`evaluator_service.dispatcher` along the
seam between walking the queue (batches, tasks, storing: the dispatcher) and scoring one span (here).

:class:`SpanScoring` decodes a span's requests, scores the inline ones (:meth:`SpanScoring.begin`), runs
what is left and places a failing span in a behavior (:meth:`SpanScoring.complete`), enriches the span in
one pass, and makes a span whose stage failed a dead letter (:meth:`SpanScoring.dead_letter`, see
:mod:`evaluator_service.dead_letters`). It also tells the score and unscored-span observers, whose shapes
(:data:`ScoreObserver`, :data:`UnscoredObserver`) are defined here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, InvalidEvaluationRequest, decode_requests
from judgeval.protocol.otlp_values import attributes_dict, find_attribute
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.dead_letters import STAGE_VERBS, StageFailed, dead_letter_reason, stage
from evaluator_service.enrichment import enrich_span, mark_failed
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.scoring.runner import InlineMeasurement, ScorerRunner
from evaluator_service.span_fields import span_fields
from evaluator_service.span_vocabularies import with_span_examples

logger = logging.getLogger("evaluator_service.dispatcher")  # the dispatcher's log, as before the split

ScoreObserver = Callable[[Span, Sequence[ScoreResult], bytes], None]
"""Called with each enriched span, its results and its serialized ``ResourceSpans`` envelope, once the
span is durably stored for export (so a span scored again after a crash mid-scoring is observed once);
must return at once (e.g. queue the work) and should not raise."""

UnscoredObserver = Callable[[Span, bytes, str, str], None]
"""Called with a span that asked for scores and gets none at all (its requests are unreadable, or it became a
dead letter), its ``ResourceSpans`` envelope (``b""`` when unknown), a reason word (``invalid_request``,
``dead_letter``) and the detail written on the span; must return at once and should not raise."""

Observation = tuple[Span, Sequence[ScoreResult], bytes]
"""What the score observers are told about one enriched span, held until it is stored."""


class SpanScoring:
    """Scores, enriches and dead-letters single spans for the dispatcher; the app sets
    :attr:`evaluator_id` and :attr:`behaviors` and adds observers through the dispatcher."""

    def __init__(self, runner: ScorerRunner, metrics: EvaluatorMetrics) -> None:
        self.runner = runner
        self.metrics = metrics
        self.evaluator_id = ""
        self.score_observers: list[ScoreObserver] = []
        self.unscored_observers: list[UnscoredObserver] = []
        self.behaviors: BehaviorGrouper | None = None

    def begin(
        self, span: Span, resource: bytes, measurements: list[InlineMeasurement] | None = None
    ) -> SpanJob:
        """Decode the span's requests, read the examples that rules left on the span, and score the inline
        ones (their metrics go to ``measurements`` if given, see :meth:`ScorerRunner.run_inline`); an
        unreadable span is marked failed (its one write). Raises :class:`StageFailed` for anything else
        that goes wrong."""
        with stage("decode"):
            raw = find_attribute(span.attributes, semconv.JUDGEVAL_EVAL_REQUESTS)
            if raw is None:
                return self._unreadable(span, resource,
                                        f"span is tagged {semconv.EvalStatus.PENDING.value} but has no "
                                              f"{semconv.JUDGEVAL_EVAL_REQUESTS} attribute")
            try:
                requests = decode_requests(raw)
            except InvalidEvaluationRequest as exc:
                return self._unreadable(span, resource, f"invalid {semconv.JUDGEVAL_EVAL_REQUESTS}: {exc}")
        fields = SpanFields(span)
        if any(r.example_from for r in requests):
            with stage("decode"):
                requests = with_span_examples(requests, span, fields, resource)
        with stage("score"):
            results = [self.runner.run_inline(r, fields, measurements) for r in requests]
        return SpanJob(requests, fields, results)

    def _unreadable(self, span: Span, resource: bytes, reason: str) -> SpanJob:
        self.tell_unscored(span, resource, "invalid_request", reason)
        mark_failed(span, reason, self._evaluator_attribute())
        self.metrics.dead_lettered("decode", "marked_failed")
        return SpanJob([], SpanFields(span), [], semconv.EvalStatus.FAILED.value)

    def needs_waiting(self, job: SpanJob) -> bool:
        """Whether the span needs a task: a result still to run, or a failing score to place in a
        behavior."""
        if job.failed_status is not None:
            return False
        failing = False
        for result in job.results:
            if result is None:
                return True
            failing = failing or result.failed or result.error_kind is not None  # errors are grouped too
        return failing and self.behaviors is not None

    async def complete(self, span: Span, job: SpanJob, resource: bytes, observed: list[Observation]) -> str:
        """Run what the inline pass left, place a failing span in a behavior, enrich, tell observers."""
        if job.failed_status is not None:
            return job.failed_status
        missing = [i for i, result in enumerate(job.results) if result is None]
        judge_calls = self.runner.span_budget()  # one budget for all of this span's requests
        with stage("score"):
            if len(missing) == 1:  # the usual case: no gather, no extra task
                only = missing[0]
                job.results[only] = await self.runner.run(job.requests[only], job.fields, judge_calls)
            elif missing:
                done = await asyncio.gather(
                    *(self.runner.run(job.requests[i], job.fields, judge_calls) for i in missing))
                for i, result in zip(missing, done, strict=True):
                    job.results[i] = result
        results = job.completed()
        behavior = None
        if self.behaviors is not None:
            with stage("behavior"):
                behavior = await self.behaviors.assign(span, job.requests, results, resource)
        with stage("enrich"):
            return self._enrich(span, results, resource, observed, behavior)

    def finish(self, span: Span, job: SpanJob, resource: bytes, observed: list[Observation]) -> str:
        """:meth:`complete` for a span with nothing to wait for."""
        if job.failed_status is not None:
            return job.failed_status
        with stage("enrich"):
            return self._enrich(span, job.completed(), resource, observed)

    def _enrich(
        self, span: Span, results: Sequence[ScoreResult], resource: bytes, observed: list[Observation],
        behavior: Mapping[str, Any] | None = None,
    ) -> str:
        """Write the scores, the verdict, the behavior and the evaluator id onto ``span`` in one pass; the
        observers hear of it (from ``observed``) once it is stored."""
        status = enrich_span(span, results, {**(behavior or {}), **self._evaluator_attribute()})
        observed.append((span, results, resource))
        return status.value

    def _evaluator_attribute(self) -> dict[str, Any]:
        return {semconv.JUDGEVAL_EVAL_EVALUATOR: self.evaluator_id}

    def dead_letter(self, original: bytes, failed: StageFailed, resource: bytes = b"") -> tuple[str, bytes]:
        """The span as it arrived (``original``), marked failed with the reason; ``b""`` when even that
        fails (the span is dropped). Logged and counted either way."""
        reason = dead_letter_reason(failed)
        logger.error("%s; exported marked %s", reason, semconv.EvalStatus.FAILED.value)
        try:
            span = Span.FromString(original)
            self.tell_unscored(span, resource, "dead_letter", reason)
            mark_failed(span, reason, self._evaluator_attribute())
            data = span.SerializeToString()
        except Exception:
            logger.exception("a span that could not be %s cannot be marked either; dropping it",
                             STAGE_VERBS[failed.stage])
            self.metrics.dead_lettered(failed.stage, "dropped")
            return semconv.EvalStatus.FAILED.value, b""
        self.metrics.dead_lettered(failed.stage, "marked_failed")
        return semconv.EvalStatus.FAILED.value, data

    def tell_unscored(self, span: Span, resource: bytes, reason: str, detail: str) -> None:
        for observe in self.unscored_observers:
            try:
                observe(span, resource, reason, detail)
            except Exception:  # an observer's bug must not keep the span from being exported
                logger.exception("unscored-span observer failed")

    def observe(self, observed: Sequence[Observation]) -> None:
        """Tell the score observers about spans now stored for export."""
        for span, results, resource in observed:
            for observe in self.score_observers:
                try:
                    observe(span, results, resource)
                except Exception:  # an observer's bug must not keep the span from being exported
                    logger.exception("score observer failed")


@dataclass(slots=True)
class SpanJob:
    """One span's scoring: its requests and the results known so far (``None``: still to run), or the
    status of a span that could not be scored at all (already marked)."""

    requests: list[EvaluationRequest]
    fields: Mapping[str, Any]
    results: list[ScoreResult | None]
    failed_status: str | None = None

    def completed(self) -> list[ScoreResult]:
        return [r for r in self.results if r is not None]


class SpanFields(Mapping[str, Any]):
    """The span's attributes and status as example fields, read only if a scorer asks (``reads_span``)."""

    def __init__(self, span: Span) -> None:
        self._span = span
        self._fields: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._fields is None:
            self._fields = attributes_dict(self._span.attributes) | span_fields(self._span)
        return self._fields

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
