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
        traffic.send(40, answers_per_trace=2)
        traces = fetch_all(jaeger.query, traffic)
        traffic.close()
        replica_ports = {replica_a.endpoint.rpartition(":")[2], replica_b.endpoint.rpartition(":")[2]}

    counts = Counter(s.name for spans in traces.values() for s in spans)
    assert counts == Counter({"agent-run": 40, "answer": 80})  # none lost, none duplicated
    scored_by: Counter[str] = Counter()
    for spans in traces.values():
        answers = [s for s in spans if s.name == "answer"]
        assert {a.attributes[semconv.JUDGEVAL_EVAL_STATUS] for a in answers} == {semconv.EvalStatus.SCORED}
        replicas = {a.attributes[semconv.JUDGEVAL_EVAL_EVALUATOR] for a in answers}
        assert len(replicas) == 1, "a trace's tagged spans were split across replicas"
        scored_by[replicas.pop().rpartition(":")[2]] += 1
    assert set(scored_by) == replica_ports  # the load balancer used both replicas
