"""Two evaluator replicas behind the collector's load-balancing exporter, keyed by trace id."""

from __future__ import annotations

from collections import Counter

from judgeval import semconv

from evaluator_service.localstack.procs import COLLECTOR_CONFIG_DIR, OtelBinaries, free_endpoint
from evaluator_service.localstack.runner import StackEnv, start_evaluator
from evaluator_service.localstack.stack import JaegerInstance, start_collector

from .traffic import Traffic, fetch_all


def test_two_replicas_score_every_trace_once(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> None:
    first, second = free_endpoint(), free_endpoint()
    with (
        start_collector(
            otel_binaries.otelcol,
            stack_env.work_dir / "otelcol",
            first,
            jaeger.otlp_grpc_endpoint,
            config=COLLECTOR_CONFIG_DIR / "otelcol-loadbalanced.yaml",
            JUDGEVAL_EVALUATOR_ENDPOINTS=f"[{first}, {second}]",
        ) as collector,
        start_evaluator(stack_env, first, collector.grpc_endpoint, name="evaluator-a") as replica_a,
        start_evaluator(stack_env, second, collector.grpc_endpoint, name="evaluator-b") as replica_b,
    ):
        traffic = Traffic(collector.grpc_endpoint)
        traffic.send(40)
        traces = fetch_all(jaeger.query, traffic.trace_ids)
        traffic.close()
        logs = {"a": replica_a.process.log_path, "b": replica_b.process.log_path}

    counts = Counter(s.name for spans in traces.values() for s in spans)
    assert counts == Counter({"agent-run": 40, "answer": 40})
    for spans in traces.values():
        answer = next(s for s in spans if s.name == "answer")
        assert answer.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED
    assert all(path.exists() for path in logs.values())
