"""The collector's ``probabilistic_sampler`` (``mode: proportional``) keeps exactly the traces our sampling
rule (:mod:`judgeval.protocol.sampling`) picks at the same rate, through the real collector binary.

The processor rounds its rejection threshold to ``sampling_precision`` hex digits (4 by default), so a trace
id whose low 56 bits lie within 2**40 of our exact threshold may be decided differently: the only
disagreement allowed. The ``otelcol-judgeval`` distribution carries the processor
(collector-config/distribution/components.go), as does stock otelcol-contrib.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import grpc
from judgeval.protocol.sampling import LOW_56_BITS, is_sampled
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.spans import make_request
from tools.localstack.binaries import OtelBinaries
from tools.localstack.stack import start_collector

RATE = 0.3
TRACES = 3000
BAND = 1 << 40  # 2**56 / 16**4: the threshold's rounding to four hex digits

SAMPLING_CONFIG = """
extensions:
  health_check:
    endpoint: ${env:JUDGEVAL_COLLECTOR_HEALTH_ENDPOINT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:JUDGEVAL_COLLECTOR_GRPC_ENDPOINT}
processors:
  probabilistic_sampler:
    mode: proportional
    sampling_percentage: %s
exporters:
  otlp_grpc/backend:
    endpoint: ${env:JUDGEVAL_BACKEND_ENDPOINT}
    tls:
      insecure: true
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [probabilistic_sampler]
      exporters: [otlp_grpc/backend]
""" % (RATE * 100)


def _has_sampler(otelcol: Path) -> bool:
    listed = subprocess.run([str(otelcol), "components"], capture_output=True, text=True, timeout=60).stdout
    return "probabilistic_sampler" in listed


def test_the_collector_sampler_keeps_exactly_the_traces_our_rule_scores(
    otel_binaries: OtelBinaries, tmp_path: Path
) -> None:
    assert _has_sampler(otel_binaries.otelcol), "the collector lacks the probabilistic_sampler processor"
    config = tmp_path / "sampling.yaml"
    config.write_text(SAMPLING_CONFIG)
    rng = random.Random(20261204)
    trace_ids = [rng.getrandbits(128) or 1 for _ in range(TRACES)]
    with (
        OtlpTraceReceiver() as backend,
        start_collector(
            otel_binaries.otelcol,
            tmp_path / "otelcol",
            evaluator_endpoint=backend.endpoint,
            backend_endpoint=backend.endpoint,
            config=config,
        ) as collector,
        grpc.insecure_channel(collector.grpc_endpoint) as channel,
    ):
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for start in range(0, TRACES, 500):
            spans = [
                Span(trace_id=t.to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"), name="run")
                for i, t in enumerate(trace_ids[start : start + 500], start)
            ]
            stub.Export(make_request(spans), timeout=10)
        expected = {t for t in trace_ids if is_sampled(t, RATE)}
        # a barrier: every id our rule samples, then nothing more for a moment
        backend.wait_for(lambda s: len(s) >= len(expected) - 5, timeout=30)
    kept = {int(s.trace_id, 16) for s in backend.spans}
    threshold = (1 - RATE) * (1 << 56)
    differing = kept ^ expected
    assert all(abs((t & LOW_56_BITS) - threshold) < BAND for t in differing), sorted(differing)[:5]
    assert 0.25 * TRACES < len(kept) < 0.35 * TRACES
