"""The collector's persistent queue and the load-balanced config, with real collectors and in-process
OTLP receivers standing at the evaluator and backend endpoints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from evaluator_service.localstack.procs import COLLECTOR_CONFIG_DIR, OtelBinaries
from evaluator_service.localstack.stack import CollectorInstance, start_collector
from tests.support.polling import eventually

PENDING = semconv.EvalStatus.PENDING.value


@pytest.fixture
def backend_receiver() -> Iterator[OtlpTraceReceiver]:
    """An in-process OTLP receiver standing where Jaeger/Tempo would be."""
    with OtlpTraceReceiver() as receiver:
        yield receiver


def emit_pending_traces(collector: CollectorInstance, count: int, spans_per_trace: int = 2) -> set[str]:
    """Send ``count`` traces whose spans are all tagged pending; returns their trace ids."""
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.grpc_endpoint, insecure=True))
    )
    tracer = provider.get_tracer("scaleout-test")
    trace_ids = set()
    for index in range(count):
        with tracer.start_as_current_span(f"agent-run-{index}") as root:
            root.set_attribute(semconv.JUDGEVAL_EVAL_STATUS, PENDING)
            for step in range(spans_per_trace - 1):
                with tracer.start_as_current_span(f"step-{step}") as span:
                    span.set_attribute(semconv.JUDGEVAL_EVAL_STATUS, PENDING)
        trace_ids.add(f"{root.get_span_context().trace_id:032x}")
    assert provider.force_flush(10_000)
    provider.shutdown()
    return trace_ids


def wait_for_log(collector: CollectorInstance, text: str, timeout: float = 30.0) -> None:
    """Wait until the collector's log mentions ``text`` (the only outside view of its retry loop)."""
    eventually(
        lambda: text in collector.process.log_path.read_text(errors="replace"),
        lambda: f"{text!r} logged; log ends:\n{collector.process.log_tail()}",
        timeout,
        interval=0.1,
    )


def test_pending_spans_survive_evaluator_outage_and_collector_restart(
    otel_binaries: OtelBinaries,
    tmp_path: Path,
    evaluator_receiver: OtlpTraceReceiver,
    backend_receiver: OtlpTraceReceiver,
) -> None:
    evaluator_receiver.unavailable = True
    work_dir = tmp_path / "otelcol"
    with start_collector(
        otel_binaries.otelcol, work_dir, evaluator_receiver.endpoint, backend_receiver.endpoint
    ) as collector:
        (trace_id,) = emit_pending_traces(collector, count=1, spans_per_trace=1)
        # Stop only once the exporter holds the span and is retrying against the "down" evaluator.
        wait_for_log(collector, "Will retry")
    assert collector.process.popen.returncode == 0, collector.process.log_tail()

    evaluator_receiver.unavailable = False
    # Same work dir = same file_storage directory: the restarted collector resumes the persisted queue.
    with start_collector(
        otel_binaries.otelcol, work_dir, evaluator_receiver.endpoint, backend_receiver.endpoint
    ):
        spans = evaluator_receiver.wait_for(lambda spans: any(s.trace_id == trace_id for s in spans))
    assert [s.trace_id for s in spans] == [trace_id]
    assert backend_receiver.spans == []


def test_load_balancer_keeps_each_trace_on_one_evaluator_replica(
    otel_binaries: OtelBinaries, tmp_path: Path, backend_receiver: OtlpTraceReceiver
) -> None:
    with OtlpTraceReceiver() as replica_a, OtlpTraceReceiver() as replica_b:
        replicas = {replica_a.endpoint: replica_a, replica_b.endpoint: replica_b}
        with start_collector(
            otel_binaries.otelcol,
            tmp_path / "otelcol",
            evaluator_endpoint="unused:1",
            backend_endpoint=backend_receiver.endpoint,
            config=COLLECTOR_CONFIG_DIR / "otelcol-loadbalanced.yaml",
            JUDGEVAL_EVALUATOR_ENDPOINTS=f"[{replica_a.endpoint}, {replica_b.endpoint}]",
        ) as collector:
            trace_ids = emit_pending_traces(collector, count=20, spans_per_trace=3)
            for replica in replicas.values():
                replica.wait_for(lambda spans: len(spans) > 0)
            replica_a.wait_for(lambda spans: len(spans) + len(replica_b.spans) >= 60)

        replicas_of_trace: dict[str, set[str]] = defaultdict(set)
        for endpoint, replica in replicas.items():
            for span in replica.spans:
                replicas_of_trace[span.trace_id].add(endpoint)
    assert set(replicas_of_trace) == trace_ids
    assert all(len(owners) == 1 for owners in replicas_of_trace.values())
    assert len(replica_a.spans) + len(replica_b.spans) == 60
    assert backend_receiver.spans == []
