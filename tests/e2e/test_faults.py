"""An evaluator outage mid-run delays scored spans; it never loses them."""

from __future__ import annotations

from collections import Counter

import pytest
from judgeval import semconv

from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator
from tools.localstack.stack import JaegerInstance, start_collector

from .traffic import SCORER, Traffic, fetch_all


@pytest.mark.parametrize("outage", ["stopped", "killed"])
def test_evaluator_outage_mid_run_loses_no_span(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv, outage: str
) -> None:
    evaluator_endpoint = free_endpoint()
    with start_collector(
        otel_binaries.otelcol, stack_env.work_dir / "otelcol", evaluator_endpoint, jaeger.otlp_grpc_endpoint
    ) as collector:
        traffic = Traffic(collector.grpc_endpoint)
        with start_evaluator(stack_env, evaluator_endpoint, collector.grpc_endpoint) as evaluator:
            traffic.send(10)
            if outage == "killed":
                evaluator.process.kill()  # a crash: no graceful shutdown at all
        traffic.send(10)  # the evaluator is down: the collector queues and retries
        with start_evaluator(stack_env, evaluator_endpoint, collector.grpc_endpoint):
            traces = fetch_all(jaeger.query, traffic)
        traffic.close()

    counts = Counter(s.name for spans in traces.values() for s in spans)
    assert len(traces) == 20
    for spans in traces.values():
        answers = [s for s in spans if s.name == "answer"]
        assert {s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in answers} == {semconv.EvalStatus.SCORED}
        assert all(semconv.score_attribute(SCORER, semconv.ScoreField.VALUE) in s.attributes for s in answers)
    if outage == "stopped":
        # A graceful stop is normal operation: every span exactly once.
        assert counts == Counter({"agent-run": 20, "answer": 20})
    else:
        # A crash between the downstream's OK and the queue delete may resend: at-least-once.
        assert counts["agent-run"] == 20 and counts["answer"] >= 20
