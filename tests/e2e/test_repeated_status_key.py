"""Issue 18, defect 2, through the real collector, evaluator and Jaeger: a span carrying
``judgeval.eval.status`` twice (OTLP allows repeated keys) is scored once and reaches Jaeger, instead of
being routed back to the evaluator by a ``pending`` the enrichment left behind."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import grpc
import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator
from tools.localstack.stack import CollectorInstance, JaegerInstance, start_collector

SERVICE = "repeated-status-key-test"
PENDING = semconv.EvalStatus.PENDING.value


@pytest.fixture
def collector(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> Iterator[CollectorInstance]:
    """Collector → evaluator → collector → Jaeger."""
    evaluator_endpoint = free_endpoint()
    with (
        start_collector(otel_binaries.otelcol, stack_env.work_dir / "otelcol", evaluator_endpoint,
                        jaeger.otlp_grpc_endpoint) as collector,
        start_evaluator(stack_env, evaluator_endpoint, collector.grpc_endpoint),
    ):
        yield collector


def _string(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _span_with_status_twice(trace_id: bytes, span_id: bytes, first: str, last: str) -> Span:
    requests = encode_requests([EvaluationRequest(ScorerRef(name="pii"), {"actual_output": "clean"})])
    return Span(
        trace_id=trace_id, span_id=span_id, name=f"status {first} then {last}",
        start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_001_000_000_000,
        attributes=[
            _string(semconv.JUDGEVAL_EVAL_STATUS, first),
            _string(semconv.JUDGEVAL_EVAL_REQUESTS, requests),
            _string(semconv.JUDGEVAL_EVAL_STATUS, last),
        ],
    )


def test_a_span_tagged_pending_twice_is_scored_once_and_reaches_jaeger(
    jaeger: JaegerInstance, collector: CollectorInstance
):
    trace_id = secrets.token_bytes(16)
    spans = [_span_with_status_twice(trace_id, secrets.token_bytes(8), PENDING, PENDING)]
    request = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=[_string(semconv.SERVICE_NAME, SERVICE)]),
        scope_spans=[ScopeSpans(spans=spans)],
    )])
    with grpc.insecure_channel(collector.grpc_endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)

    (span,) = jaeger.query.wait_for_trace(trace_id.hex(), lambda found: len(found) == 1, 60)
    assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED
    results = [name for name, _ in span.events if name == semconv.GEN_AI_EVALUATION_RESULT_EVENT]
    assert results == [semconv.GEN_AI_EVALUATION_RESULT_EVENT]  # scored once, not once per loop
