"""Fuzzed OTLP exports over gRPC and OTLP/HTTP against one running evaluator: every span with valid ids is
accepted and delivered downstream exactly once and never left pending; the rest are refused through
``partial_success``; garbage gets a refusal, never a crash, and the evaluator keeps serving."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import given, settings
from hypothesis import strategies as st
from judgeval import semconv
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from .conftest import RunningEvaluator
from .strategies import export_requests, json_values

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
GRPC_EXAMPLES = 120
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
    copies = Counter(s.span_id for s in received if s.span_id in wanted)
    assert all(count == 1 for count in copies.values()), copies
    for span in received:
        if span.span_id in wanted:
            assert span.attributes.get(semconv.JUDGEVAL_EVAL_STATUS) != semconv.EvalStatus.PENDING.value


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
