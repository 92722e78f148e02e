"""Scored spans as :class:`~judgeval.protocol.interaction_record.InteractionRecord` s, built once and handed
to every part of the improvement loop and the console that keeps them.

:class:`InteractionFanout` is one score observer (see :data:`evaluator_service.dispatcher.ScoreObserver`):
for each stored, enriched span it builds the records of its results (decoding the span's requests once, with
the example fields rules read from the span) and calls each :data:`InteractionSink` with them. Sinks must
return at once (queue the work) and should not raise; a sink's bug is logged and never reaches the span.

A trajectory result span (made by the evaluator, see :mod:`evaluator_service.trajectories.results`) carries
no span requests: its records have ``scope`` from ``judgeval.trajectory.scope`` and an empty example.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, InvalidEvaluationRequest, decode_requests
from judgeval.protocol.interaction_record import InteractionRecord
from judgeval.protocol.otlp_values import attributes_dict
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.span_fields import span_fields
from evaluator_service.span_vocabularies import with_span_examples

logger = logging.getLogger(__name__)

InteractionSink = Callable[[Sequence[InteractionRecord]], None]
"""Told the records of one stored span; must return at once and should not raise."""

KEPT_ATTRIBUTES = (semconv.GEN_AI_REQUEST_MODEL, semconv.GEN_AI_OPERATION_NAME)
"""Span attributes copied into :attr:`InteractionRecord.attributes` when present."""


def interaction_records(span: Span, results: Sequence[ScoreResult], resource_envelope: bytes,
                        *, now: float | None = None) -> list[InteractionRecord]:
    """One record per result of ``span`` (results in request order, as the dispatcher keeps them)."""
    if not results:
        return []
    resource = attributes_dict(ResourceSpans.FromString(resource_envelope).resource.attributes) \
        if resource_envelope else {}
    attributes = attributes_dict(span.attributes)
    fields = attributes | span_fields(span)
    requests = _requests(span, fields, resource_envelope)
    at = time.time() if now is None else now
    scope = str(attributes.get(semconv.JUDGEVAL_TRAJECTORY_SCOPE) or semconv.TrajectoryScope.SPAN.value)
    agent = attributes.get(semconv.GEN_AI_AGENT_NAME, resource.get(semconv.GEN_AI_AGENT_NAME, ""))
    behavior = attributes.get(semconv.JUDGEVAL_BEHAVIOR_ID)
    behavior_scorer = attributes.get(semconv.JUDGEVAL_BEHAVIOR_SCORER)
    kept = {key: attributes[key] for key in KEPT_ATTRIBUTES if key in attributes}
    records = []
    for index, result in enumerate(results):
        request = _matching(requests, index, result.scorer_name)
        outcome = result.outcome
        records.append(InteractionRecord(
            scorer=result.scorer_name, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), at=at,
            example=dict(request.example) if request is not None else {}, threshold=result.threshold,
            score=outcome.value if outcome is not None else None, passed=result.passed,
            reason=(outcome.reason or "") if outcome is not None else result.error_message,
            error_kind=result.error_kind if outcome is None else None,
            scorer_version=request.scorer.version if request is not None else None, scope=scope,
            service=str(resource.get(semconv.SERVICE_NAME, "")), agent=str(agent or ""),
            environment=str(attributes.get(semconv.DEPLOYMENT_ENVIRONMENT_NAME,
                                           resource.get(semconv.DEPLOYMENT_ENVIRONMENT_NAME, ""))),
            behavior_id=str(behavior) if behavior and behavior_scorer in (None, result.scorer_name) else None,
            attributes=kept, latency_s=result.latency_s, cost_usd=result.cost_usd,
        ))
    return records


def _requests(span: Span, fields: dict[str, Any], resource_envelope: bytes) -> list[EvaluationRequest]:
    raw = fields.get(semconv.JUDGEVAL_EVAL_REQUESTS)
    if raw is None:
        return []
    try:
        requests = decode_requests(raw)
    except InvalidEvaluationRequest:
        return []  # the span was marked failed with the reason; its records just have no example
    if any(r.example_from for r in requests):
        requests = with_span_examples(requests, span, fields, resource_envelope)
    return requests


def _matching(requests: list[EvaluationRequest], index: int, scorer: str) -> EvaluationRequest | None:
    if index < len(requests) and requests[index].scorer.name == scorer:
        return requests[index]
    return next((r for r in requests if r.scorer.name == scorer), None)


class InteractionFanout:
    """A score observer that builds each stored span's records once and hands them to every sink; ``clock``
    dates them (the app's clock)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.sinks: list[InteractionSink] = []
        self._clock = clock

    def __call__(self, span: Span, results: Sequence[ScoreResult], resource_envelope: bytes) -> None:
        if not self.sinks or not results:
            return
        records = interaction_records(span, results, resource_envelope, now=self._clock())
        for sink in self.sinks:
            try:
                sink(records)
            except Exception:  # a sink's bug must not reach the span or the other sinks
                logger.exception("interaction sink failed")
