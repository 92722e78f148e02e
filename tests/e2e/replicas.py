"""Two evaluator replicas behind the collector's load-balancing exporter, exporting to Jaeger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import COLLECTOR_CONFIG_DIR, free_endpoint
from tools.localstack.runner import EvaluatorInstance, StackEnv, start_evaluator
from tools.localstack.stack import JaegerInstance, start_collector


@dataclass(frozen=True)
class LoadBalancedReplicas:
    """Where to send spans, and the two replicas the collector balances between."""

    collector_endpoint: str
    first: EvaluatorInstance
    second: EvaluatorInstance

    def ports(self) -> set[str]:
        """The replicas' listening ports, as ``judgeval.eval.evaluator`` ends with them."""
        return {self.first.endpoint.rpartition(":")[2], self.second.endpoint.rpartition(":")[2]}


@contextmanager
def load_balanced_replicas(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv, *evaluator_args: str
) -> Iterator[LoadBalancedReplicas]:
    """Run ``otelcol-loadbalanced.yaml`` in front of two ``judgeval-evaluator`` processes started with
    ``evaluator_args``, until the block exits."""
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
        start_evaluator(stack_env, first, collector.grpc_endpoint, *evaluator_args, name="replica-a") as a,
        start_evaluator(stack_env, second, collector.grpc_endpoint, *evaluator_args, name="replica-b") as b,
    ):
        yield LoadBalancedReplicas(collector.grpc_endpoint, a, b)
