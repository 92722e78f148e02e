"""Fuzzed OTLP exports over gRPC and OTLP/HTTP against one running evaluator: every span with valid ids is
accepted and delivered downstream exactly once, a tagged one with exactly one final status (never pending,
so nothing loops); the rest are refused through ``partial_success``; garbage gets a refusal, never a crash,
and the evaluator keeps serving. Tagged spans include hostile ones: repeated status and request keys,
deeply nested JSON, integers of thousands of digits and lone surrogates in their payloads."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import given, settings
from hypothesis import strategies as st
from judgeval import semconv
from judgeval.testing.otlp_receiver import ReceivedSpan
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from .conftest import RunningEvaluator
from .strategies import (
    FINAL_STATUSES,
    export_requests,
    hostile_tagged_attributes,
    json_values,
    next_span_id,
    next_trace_id,
)

CANARY = json.dumps([{"scorer": {"name": "keyword", "config": {"keywords": ["parcel"]}},
                      "example": {"actual_output": "your parcel ships today"}}])

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
GRPC_EXAMPLES = 120
HOSTILE_EXAMPLES = 60
RAW_EXAMPLES = 200
HTTP_EXAMPLES = 200


def assert_serving(evaluator: RunningEvaluator) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{evaluator.app.port}") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


@settings(max_examples=GRPC_EXAMPLES)
@given(case=export_requests())
def test_fuzzed_exports_deliver_every_accepted_span_exactly_once(evaluator: RunningEvaluator, case) -> None:
    request, valid = case
    total = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
    with grpc.insecure_channel(f"127.0.0.1:{evaluator.app.port}") as channel:
        response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=30)
    assert response.partial_success.rejected_spans == total - len(valid)
    wanted = {span.span_id.hex() for span in valid}
    received = evaluator.receiver.wait_for(
        lambda spans: wanted <= {s.span_id for s in spans}, 30)
    assert_delivered_once_and_final(received, valid)


def _statuses(attributes: Iterable[KeyValue]) -> list[str]:
    return [kv.value.string_value for kv in attributes if kv.key == semconv.JUDGEVAL_EVAL_STATUS]


def assert_delivered_once_and_final(received: list[ReceivedSpan], sent: list[Span]) -> None:
    """Each sent span arrived once; one that asked for scoring (any ``pending`` status key, however many
    status keys it had) carries exactly one status, a final one, so no collector route can send it back."""
    asked = {span.span_id.hex() for span in sent if "pending" in _statuses(span.attributes)}
    wanted = {span.span_id.hex() for span in sent}
    copies = Counter(s.span_id for s in received if s.span_id in wanted)
    assert all(count == 1 for count in copies.values()), copies
    for span in received:
        if span.span_id not in wanted:
            continue
        assert span.proto is not None
        statuses = _statuses(span.proto.attributes)
        if span.span_id in asked:
            assert len(statuses) == 1 and statuses[0] in FINAL_STATUSES, (span.name, statuses)
        assert semconv.EvalStatus.PENDING.value not in statuses


def _hostile_request(spans: list[Span]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.extend(spans)
    return request


@settings(max_examples=HOSTILE_EXAMPLES)
@given(attribute_lists=st.lists(hostile_tagged_attributes(), min_size=1, max_size=3))
def test_hostile_tagged_spans_end_once_with_a_final_status(evaluator: RunningEvaluator,
                                                           attribute_lists: list[list[KeyValue]]) -> None:
    """Repeated status keys (pending twice, pending and scored either way round), repeated request keys,
    deeply nested JSON, integers of thousands of digits and lone surrogates in payloads: every span is
    delivered once, marked with one final status, next to a plain canary scored as usual."""
    spans = [Span(trace_id=next_trace_id(), span_id=next_span_id(), name=f"hostile-{i}",
                  attributes=attrs) for i, attrs in enumerate(attribute_lists)]
    canary = Span(trace_id=next_trace_id(), span_id=next_span_id(), name="canary", attributes=[
        KeyValue(key=semconv.JUDGEVAL_EVAL_STATUS, value=AnyValue(string_value="pending")),
        KeyValue(key=semconv.JUDGEVAL_EVAL_REQUESTS, value=AnyValue(string_value=CANARY))])
    with grpc.insecure_channel(f"127.0.0.1:{evaluator.app.port}") as channel:
        response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            _hostile_request([*spans, canary]), timeout=30)
    assert response.partial_success.rejected_spans == 0
    wanted = {span.span_id.hex() for span in [*spans, canary]}
    received = evaluator.receiver.wait_for(lambda got: wanted <= {s.span_id for s in got}, 30)
    assert_delivered_once_and_final(received, [*spans, canary])
    (scored,) = [s for s in received if s.span_id == canary.span_id.hex()]
    assert scored.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED.value


@settings(max_examples=RAW_EXAMPLES)
@given(body=st.binary(max_size=4096))
def test_garbage_protobuf_is_refused_and_the_evaluator_keeps_serving(evaluator: RunningEvaluator,
                                                                       body: bytes) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{evaluator.app.port}") as channel:
        call = channel.unary_unary(EXPORT, request_serializer=None,
                                   response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString)
        try:
            call(body, timeout=30)
        except grpc.RpcError as exc:
            assert exc.code() is not grpc.StatusCode.DEADLINE_EXCEEDED
    assert_serving(evaluator)


def _http_post(evaluator: RunningEvaluator, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{evaluator.app.http_port}/v1/traces", data=body,
                                     headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


otlp_json_documents = st.fixed_dictionaries({"resourceSpans": st.lists(st.fixed_dictionaries({
    "scopeSpans": st.lists(st.fixed_dictionaries({"spans": st.lists(st.dictionaries(
        st.sampled_from(["traceId", "spanId", "name", "kind", "attributes", "startTimeUnixNano", "links"]),
        json_values | st.text(alphabet="0123456789abcdef", max_size=34), max_size=6), max_size=3)}),
        max_size=2)}), max_size=2)}) | json_values


@settings(max_examples=HTTP_EXAMPLES)
@given(body=st.binary(max_size=2048) | otlp_json_documents.map(lambda d: json.dumps(d).encode()),
       content_type=st.sampled_from(["application/x-protobuf", "application/json", "text/plain"]))
def test_fuzzed_http_bodies_get_an_otlp_status_never_a_server_error(evaluator: RunningEvaluator, body: bytes,
                                                                     content_type: str) -> None:
    assert _http_post(evaluator, body, content_type) in {200, 400, 413, 415}
