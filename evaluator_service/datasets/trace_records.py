"""Interaction records rebuilt from a trace as its backend holds it (``judgeval datasets add --trace ID``).

The evaluator wrote every result onto the scored span: one ``gen_ai.evaluation.result`` event per scorer
(name, value, label, explanation, ``error.type`` for an error) and flat ``judgeval.score.<key>.*``
attributes (threshold, success), beside the request payload (``judgeval.eval.requests``) that holds the
example. Reading them back gives the same :class:`~evaluator_service.scoring.contract.ScoreResult` s the
evaluator had, and :func:`~evaluator_service.interactions.interaction_records` (the one builder of
records) turns span and results into records, with the event's time as the record's time.

Spans the evaluator wrote itself for backfill results are skipped (their scored span carries nothing new
and their records would have no example); trajectory result spans are kept (they are the record of a
trajectory's score).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from judgeval import semconv
from judgeval.protocol.interaction_record import InteractionRecord
from judgeval.protocol.otlp_values import attributes_dict
from judgeval.semconv import ScoreField, score_attribute

from evaluator_service.backends.errors import BackendQueryError, BackendUnreachable
from evaluator_service.backends.stored_spans import StoredSpan, StoredTrace
from evaluator_service.interactions import interaction_records
from evaluator_service.scoring.contract import ScoreOutcome, ScoreResult

DEFAULT_THRESHOLD = 0.5


def trace_records(trace: StoredTrace) -> list[InteractionRecord]:
    """Every scored span's records, in the trace's span order, then each span's result order."""
    records: list[InteractionRecord] = []
    for stored in trace.spans:
        if semconv.JUDGEVAL_BACKFILL_RUN_ID in stored.attributes:
            continue
        for event in stored.span.events:
            if event.name != semconv.GEN_AI_EVALUATION_RESULT_EVENT:
                continue
            result = _result(attributes_dict(event.attributes), stored)
            if result is not None:
                records += interaction_records(stored.span, [result], stored.resource_envelope(),
                                               now=event.time_unix_nano / 1e9)
    return records


def _result(event: dict[str, Any], stored: StoredSpan) -> ScoreResult | None:
    name = event.get(semconv.GEN_AI_EVALUATION_NAME)
    if not isinstance(name, str) or not name:
        return None
    threshold = stored.attributes.get(score_attribute(name, ScoreField.THRESHOLD), DEFAULT_THRESHOLD)
    threshold = float(threshold) if isinstance(threshold, int | float) else DEFAULT_THRESHOLD
    explanation = str(event.get(semconv.GEN_AI_EVALUATION_EXPLANATION, ""))
    value = event.get(semconv.GEN_AI_EVALUATION_SCORE_VALUE)
    if not isinstance(value, int | float) or isinstance(value, bool):
        kind = str(event.get(semconv.ERROR_TYPE) or "error")
        return ScoreResult(name, threshold, error_kind=kind,
                           error_message=explanation.removeprefix(f"{kind}: ").removeprefix(kind))
    success = stored.attributes.get(score_attribute(name, ScoreField.SUCCESS))
    if not isinstance(success, bool):
        success = event.get(semconv.GEN_AI_EVALUATION_SCORE_LABEL) == semconv.ScoreLabel.PASS.value
    return ScoreResult(name, threshold, ScoreOutcome(float(value), explanation or None, success))


TraceRecords = Callable[[str], Awaitable[list[InteractionRecord]]]
"""Given a trace id (32 hex digits), the interaction records of its scored spans as the trace backend holds
them; raises :class:`LookupError` when the backend has no such trace, :class:`ConnectionError` when it
cannot be reached."""


def jaeger_trace_records(base_url: str, *, timeout_s: float = 10.0) -> TraceRecords:
    """The Datasets API's ``trace_records``: read the trace from Jaeger's query API (off the event loop)
    and rebuild its records. Raises :class:`LookupError` when Jaeger has no such trace and
    :class:`ConnectionError` when it cannot be asked."""
    from evaluator_service.backends.jaeger_query import JaegerQueryClient

    async def read(trace_id: str) -> list[InteractionRecord]:
        def fetch() -> StoredTrace | None:
            with JaegerQueryClient(base_url, timeout_s=timeout_s) as jaeger:
                return jaeger.get_trace(trace_id)

        try:
            trace = await asyncio.to_thread(fetch)
        except BackendUnreachable as exc:
            raise ConnectionError(str(exc)) from None
        except BackendQueryError as exc:
            raise ConnectionError(f"reading trace {trace_id} from Jaeger failed: {exc}") from None
        if trace is None:
            raise LookupError(f"Jaeger at {base_url} has no trace {trace_id}")
        return trace_records(trace)

    return read
