"""The spans the evaluator benchmarks send, and the in-process floor (parse + enrich + serialize).

Every batch is one ``ExportTraceServiceRequest`` (one resource, one scope) of tool-call-shaped spans with
the attributes ``@observe`` records. Span ids encode the batch number, so the latency benchmark can map a
received span back to its send time. ``kind`` picks the routing: ``untagged`` (forwarded as is),
``keyword`` (tagged for the YAML ``bench_keyword`` scorer) or ``judge`` (tagged for ``bench_judge``).
"""

from __future__ import annotations

import os
import struct
import time

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SCORERS = {"keyword": "bench_keyword", "judge": "bench_judge", "uploaded": "Bench Uploaded Scorer"}
INPUT = '{"question": "Where is my package? Order #12345 was due yesterday."}'
OUTPUT = ('"I am sorry your package has not arrived yet. Order #12345 ships within 2 business days; you will '
          'get a tracking update by email within 24 hours."')


def _kv(key: str, value: str | int) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, int):
        kv.value.int_value = value
    else:
        kv.value.string_value = value
    return kv


def _attributes(kind: str) -> list[KeyValue]:
    attributes = [
        _kv(semconv.JUDGEVAL_PROJECT_NAME, "bench"),
        _kv(semconv.JUDGEVAL_SPAN_TYPE, "tool"),
        _kv(semconv.GEN_AI_OPERATION_NAME, "execute_tool"),
        _kv(semconv.GEN_AI_TOOL_NAME, "lookup_order"),
        _kv(semconv.JUDGEVAL_INPUT, INPUT),
        _kv(semconv.JUDGEVAL_OUTPUT, OUTPUT),
    ]
    if kind in SCORERS:
        request = EvaluationRequest(
            scorer=ScorerRef(name=SCORERS[kind]),
            example={"input": "Where is my package?", "actual_output": OUTPUT},
        )
        attributes += [
            _kv(semconv.JUDGEVAL_EVAL_STATUS, semconv.EvalStatus.PENDING.value),
            _kv(semconv.JUDGEVAL_EVAL_REQUESTS, encode_requests([request])),
        ]
    return attributes


class SpanBatches:
    """Builds serialized export requests of ``batch`` spans; ``sizes`` records each built batch's size."""

    def __init__(self, kind: str, batch: int) -> None:
        self.kind = kind
        self.batch = batch
        self.sizes: list[int] = []
        template = ExportTraceServiceRequest()
        resource_spans = template.resource_spans.add()
        resource_spans.resource.attributes.append(_kv(semconv.SERVICE_NAME, "bench-agent"))
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "judgeval"
        self._template = template
        self._attributes = _attributes(kind)

    def request(self, index: int) -> ExportTraceServiceRequest:
        request = ExportTraceServiceRequest()
        request.CopyFrom(self._template)
        spans = request.resource_spans[0].scope_spans[0].spans
        now = time.time_ns()
        for position in range(self.batch):
            span = Span(
                trace_id=os.urandom(16),
                span_id=struct.pack(">II", index + 1, position + 1),
                name="lookup_order",
                kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=now - 1_000_000,
                end_time_unix_nano=now,
            )
            span.attributes.extend(self._attributes)
            spans.append(span)
        self.sizes.append(self.batch)
        return request

    def payload(self, index: int) -> bytes:
        """Batch ``index`` serialized, ready for a raw-bytes gRPC call."""
        return self.request(index).SerializeToString()

    @staticmethod
    def batch_of(span_id: bytes) -> int:
        return int(struct.unpack(">II", span_id)[0]) - 1


def enrich_in_place(request: ExportTraceServiceRequest) -> None:
    """What the evaluator minimally must do per span: one result event and a few attributes."""
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                event = span.events.add(name=semconv.GEN_AI_EVALUATION_RESULT_EVENT,
                                        time_unix_nano=span.end_time_unix_nano)
                event.attributes.append(_kv(semconv.GEN_AI_EVALUATION_NAME, "bench_keyword"))
                score = event.attributes.add(key=semconv.GEN_AI_EVALUATION_SCORE_VALUE)
                score.value.double_value = 1.0
                span.attributes.append(_kv(semconv.JUDGEVAL_EVAL_STATUS, semconv.EvalStatus.SCORED.value))
                success = span.attributes.add(key=semconv.JUDGEVAL_EVAL_SUCCESS)
                success.value.bool_value = True


def floor_spans_per_s(kind: str, batch: int, batches: int = 40) -> dict[str, float]:
    """Pure-Python protobuf parse + enrich + serialize of the same batches, in this process."""
    builder = SpanBatches(kind, batch)
    payloads = [builder.payload(i) for i in range(batches)]
    start = time.perf_counter()
    for payload in payloads:
        request = ExportTraceServiceRequest.FromString(payload)
        enrich_in_place(request)
        request.SerializeToString()
    elapsed = time.perf_counter() - start
    return {"spans_per_s": batch * batches / elapsed, "bytes_per_span": len(payloads[0]) / batch}
