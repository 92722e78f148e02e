"""End to end through the real collector and Jaeger, with the evaluator's endpoint played by an in-process
OTLP receiver: pending spans go to the evaluator only, everything else to Jaeger only, and spans the
evaluator sends back (status rewritten) reach Jaeger exactly once without looping into evaluation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from judgeval import semconv
from judgeval.protocol.otlp_values import to_any_value
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tools.localstack.binaries import OtelBinaries
from tools.localstack.jaeger_query import JaegerSpan
from tools.localstack.procs import COLLECTOR_CONFIG_DIR
from tools.localstack.stack import CollectorInstance, JaegerInstance, start_collector

SERVICE = "collector-routing-test"
PENDING = semconv.EvalStatus.PENDING.value
SCORED = semconv.EvalStatus.SCORED.value


@pytest.fixture
def agent_provider(collector: CollectorInstance) -> Iterator[TracerProvider]:
    """A private TracerProvider exporting to the collector, as an instrumented agent would."""
    provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: SERVICE}))
    exporter = OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def emit_agent_trace(provider: TracerProvider, child_status: str) -> tuple[str, str, str]:
    """An untagged parent and a child tagged with ``child_status``, flushed in ONE export request.

    One request matters: both pipelines receive the same batch, so once the parent is in Jaeger any
    copy of the child that slipped past the filter would be there too. Returns (trace, parent, child) ids.
    """
    tracer = provider.get_tracer("routing-test")
    with (
        tracer.start_as_current_span("agent-run") as parent,
        tracer.start_as_current_span("llm-call") as child,
    ):
        child.set_attribute(semconv.JUDGEVAL_EVAL_STATUS, child_status)
    assert provider.force_flush(10_000)
    parent_ctx, child_ctx = parent.get_span_context(), child.get_span_context()
    return f"{parent_ctx.trace_id:032x}", f"{parent_ctx.span_id:016x}", f"{child_ctx.span_id:016x}"


def with_status(received: ReceivedSpan, status: str) -> trace_service_pb2.ExportTraceServiceRequest:
    """Re-export ``received`` as the evaluator does: same span, routing tag rewritten to ``status``."""
    assert received.proto is not None
    span = Span()
    span.CopyFrom(received.proto)
    for attribute in span.attributes:
        if attribute.key == semconv.JUDGEVAL_EVAL_STATUS:
            attribute.value.CopyFrom(AnyValue(string_value=status))
    resource = ProtoResource(
        attributes=[KeyValue(key=k, value=to_any_value(v)) for k, v in received.resource.items()]
    )
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    )


def send_to_collector(
    collector: CollectorInstance, request: trace_service_pb2.ExportTraceServiceRequest
) -> None:
    with grpc.insecure_channel(collector.grpc_endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)


def spans_with_id(spans: list[JaegerSpan] | list[ReceivedSpan], span_id: str) -> list[object]:
    return [s for s in spans if s.span_id == span_id]


def has_span(span_id: str) -> Callable[[list[JaegerSpan]], bool]:
    return lambda spans: bool(spans_with_id(spans, span_id))


def test_pending_span_goes_to_evaluator_and_the_rest_to_jaeger(
    agent_provider: TracerProvider, jaeger: JaegerInstance, evaluator_receiver: OtlpTraceReceiver
) -> None:
    trace_id, parent_id, child_id = emit_agent_trace(agent_provider, PENDING)

    received = evaluator_receiver.wait_for(lambda spans: bool(spans_with_id(spans, child_id)))
    stored = jaeger.query.wait_for_trace(trace_id, lambda spans: bool(spans_with_id(spans, parent_id)))

    assert [(s.span_id, s.attributes[semconv.JUDGEVAL_EVAL_STATUS]) for s in received] == [
        (child_id, PENDING)
    ]
    assert [s.span_id for s in stored] == [parent_id]
    assert SERVICE in jaeger.query.services()


def test_evaluated_span_reaches_jaeger_once_and_does_not_loop(
    collector: CollectorInstance,
    agent_provider: TracerProvider,
    jaeger: JaegerInstance,
    evaluator_receiver: OtlpTraceReceiver,
) -> None:
    trace_id, parent_id, child_id = emit_agent_trace(agent_provider, PENDING)
    (pending,) = evaluator_receiver.wait_for(lambda spans: len(spans) >= 1)

    send_to_collector(collector, with_status(pending, SCORED))
    stored = jaeger.query.wait_for_trace(trace_id, lambda spans: bool(spans_with_id(spans, child_id)))

    # A later pending span is the barrier: once it reached the evaluator, a looping scored span would have.
    _, _, barrier_id = emit_agent_trace(agent_provider, PENDING)
    after = evaluator_receiver.wait_for(lambda spans: bool(spans_with_id(spans, barrier_id)))

    scored = [s for s in stored if s.span_id == child_id]
    assert len(scored) == 1
    assert scored[0].attributes[semconv.JUDGEVAL_EVAL_STATUS] == SCORED
    assert sorted(s.span_id for s in stored) == sorted([parent_id, child_id])
    assert len(spans_with_id(after, child_id)) == 1
    assert all(s.attributes[semconv.JUDGEVAL_EVAL_STATUS] == PENDING for s in after)


def test_finished_statuses_bypass_the_evaluator(
    agent_provider: TracerProvider, jaeger: JaegerInstance, evaluator_receiver: OtlpTraceReceiver
) -> None:
    # Every status other than pending (including failed/partial from an evaluator) goes straight to Jaeger.
    for status in semconv.EvalStatus:
        if status is semconv.EvalStatus.PENDING:
            continue
        trace_id, _, child_id = emit_agent_trace(agent_provider, status.value)
        jaeger.query.wait_for_trace(trace_id, has_span(child_id))
    _, _, barrier_id = emit_agent_trace(agent_provider, PENDING)
    after = evaluator_receiver.wait_for(lambda spans: bool(spans_with_id(spans, barrier_id)))
    assert [s.span_id for s in after] == [barrier_id]


def test_tempo_config_routes_the_same_way(
    otel_binaries: OtelBinaries,
    tmp_path: Path,
    jaeger: JaegerInstance,
    evaluator_receiver: OtlpTraceReceiver,
) -> None:
    # No Tempo binary here; any OTLP/gRPC backend shows the routing (Tempo-only settings are headers).
    with start_collector(
        otel_binaries.otelcol,
        tmp_path / "otelcol-tempo",
        evaluator_endpoint=evaluator_receiver.endpoint,
        backend_endpoint=jaeger.otlp_grpc_endpoint,
        config=COLLECTOR_CONFIG_DIR / "otelcol-tempo.yaml",
    ) as collector:
        provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: SERVICE}))
        exporter = OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        try:
            trace_id, parent_id, child_id = emit_agent_trace(provider, PENDING)
        finally:
            provider.shutdown()
        received = evaluator_receiver.wait_for(lambda spans: bool(spans_with_id(spans, child_id)))
        stored = jaeger.query.wait_for_trace(trace_id, has_span(parent_id))
    assert [s.span_id for s in received] == [child_id]
    assert [s.span_id for s in stored] == [parent_id]


def test_batches_larger_than_grpc_default_limit_reach_jaeger(
    collector: CollectorInstance, jaeger: JaegerInstance
) -> None:
    # 400 spans with 12 KiB of captured content: one ~5 MiB export, over gRPC's 4 MiB default.
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True)
    provider.add_span_processor(
        BatchSpanProcessor(exporter, max_export_batch_size=512, schedule_delay_millis=60_000)
    )
    tracer = provider.get_tracer("big-batches")
    with tracer.start_as_current_span("root") as root:
        for index in range(399):
            with tracer.start_as_current_span(f"call-{index}") as span:
                span.set_attribute(semconv.JUDGEVAL_INPUT, "x" * 12 * 1024)
    assert provider.force_flush(30_000)
    provider.shutdown()
    trace_id = f"{root.get_span_context().trace_id:032x}"
    spans = jaeger.query.wait_for_trace(trace_id, lambda s: len(s) == 400, timeout=60)
    assert len({s.span_id for s in spans}) == 400
