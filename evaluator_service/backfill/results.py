"""Backfill results as evaluation records in the scored span's trace: an ``evaluate <scorer>`` child span
of the scored span and an OTLP log record (event ``gen_ai.evaluation.result``) with the scored span's
trace and span ids.

The child span carries what a scored span carries (the ``gen_ai.evaluation.result`` event, flat
``judgeval.score.*`` attributes, the verdict and a final ``judgeval.eval.status``, so no collector route
sends it back to the evaluator), marked as an evaluation span of this scorer and version, with the run id
and the scored span's id. It is placed under the scored span's resource, so it shows under the agent's
service, in the ``judgeval.evaluator.backfill`` instrumentation scope.
"""

from __future__ import annotations

import os
import time
from typing import Any

from judgeval import semconv
from judgeval.protocol.otlp_values import to_any_value
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span

from evaluator_service.backends.stored_spans import StoredSpan
from evaluator_service.enrichment import enrich_span
from evaluator_service.scoring.contract import ScoreResult
from evaluator_service.trajectories.result_logs import result_log_record

BACKFILL_INSTRUMENTATION_SCOPE = InstrumentationScope(name="judgeval.evaluator.backfill")
BACKFILL_SCOPE = ScopeSpans(scope=BACKFILL_INSTRUMENTATION_SCOPE).SerializeToString()
"""The instrumentation scope of backfill result spans (serialized envelope, as the span queue stores it)."""


def result_span(scored: StoredSpan, result: ScoreResult, version: str, run_id: str,
                evaluator_id: str = "") -> Span:
    """One backfill result as an ``evaluate <scorer>`` child span of ``scored``."""
    now = time.time_ns()
    span = Span(
        trace_id=scored.span.trace_id, span_id=_span_id(), parent_span_id=scored.span.span_id,
        name=f"evaluate {result.scorer_name}", kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=now, end_time_unix_nano=now,
    )
    extra: dict[str, Any] = {
        semconv.JUDGEVAL_SPAN_TYPE: semconv.SpanType.EVALUATION.value,
        semconv.JUDGEVAL_EVALUATOR_NAME: result.scorer_name,
        semconv.JUDGEVAL_EVALUATOR_KIND: "server_hosted",
        semconv.JUDGEVAL_BACKFILL_RUN_ID: run_id,
        semconv.JUDGEVAL_BACKFILL_SCORED_SPAN_ID: scored.span_id,
    }
    if version:
        extra[semconv.JUDGEVAL_EVALUATOR_VERSION] = int(version) if version.isdigit() else version
    if evaluator_id:
        extra[semconv.JUDGEVAL_EVAL_EVALUATOR] = evaluator_id
    enrich_span(span, [result], extra)
    return span


def result_log(scored: StoredSpan, span: Span) -> LogRecord:
    """The log record of a result span, in the scored span's context (its trace and span ids)."""
    record = result_log_record(span)
    record.span_id = scored.span.span_id
    record.attributes.append(KeyValue(key=semconv.JUDGEVAL_BACKFILL_RUN_ID,
                                      value=to_any_value(run_id_of(span))))
    return record


def run_id_of(span: Span) -> str:
    return next((kv.value.string_value for kv in span.attributes
                 if kv.key == semconv.JUDGEVAL_BACKFILL_RUN_ID), "")


def _span_id() -> bytes:
    while True:
        span_id = os.urandom(8)
        if any(span_id):
            return span_id
