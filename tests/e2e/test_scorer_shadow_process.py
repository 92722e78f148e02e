"""Scorer shadows in the real ``judgeval-evaluator`` process (the wiring of ``serve``: the shadow sink, its
config section and the ScorerVersionsAdmin API), driven only by the ``judgeval`` CLI and OTLP/gRPC, with
the shadow's outcomes exported as metrics to an OTLP receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from judgeval import environment_variables, semconv
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.support.polling import eventually
from tests.support.shadow_versions import (
    NAME,
    REASON,
    WITH_TRACKING,
    WITHOUT_TRACKING,
    tagged_span,
    write_versions,
)
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator

from .metrics_receiver import OtlpMetricsReceiver

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")
JUDGEVAL = Path(sys.executable).parent / "judgeval"


def cli(env: StackEnv, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    cli_env = env.process_env(**{environment_variables.JUDGMENT_API_URL: endpoint,
                                 environment_variables.JUDGMENT_API_KEY: env.api_key})
    return subprocess.run([str(JUDGEVAL), *args], env=cli_env, capture_output=True, text=True, timeout=300,
                          check=False)


def export(endpoint: str, trace_byte: int, response: str) -> None:
    with grpc.insecure_channel(endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            tagged_span(bytes([trace_byte]) * 16, response), timeout=10)


@pytest.mark.timeout(300)
def test_the_evaluator_process_runs_a_shadow_and_follows_a_promotion(stack_env: StackEnv) -> None:
    stack_env = replace(stack_env, llm_env={**stack_env.llm_env, "OTEL_METRIC_EXPORT_INTERVAL": "500"})
    v1, v2, requirements = write_versions(stack_env.work_dir / "scorers")
    config = stack_env.work_dir / "evaluator.yaml"
    config.write_text("shadow:\n  flush_interval_s: 0.2\n  concurrency: 1\n")
    endpoint = free_endpoint()
    with OtlpTraceReceiver() as downstream, OtlpMetricsReceiver() as metrics, start_evaluator(
        stack_env, endpoint, downstream.endpoint, "--config", str(config),
        "--metrics-endpoint", metrics.endpoint,
    ):
        for scorer, flags in ((v1, ()), (v2, ("--shadow",))):
            uploaded = cli(stack_env, endpoint, "upload_scorer", str(scorer), str(requirements), *flags)
            assert uploaded.returncode == 0, uploaded.stderr
        export(endpoint, 1, WITH_TRACKING)
        export(endpoint, 2, WITHOUT_TRACKING)
        spans = downstream.wait_for(lambda s: len(s) >= 2, 60)
        assert {s.attributes[REASON] for s in spans} == {"v1: mentions shipping"}

        def two_compared() -> dict[str, object] | None:
            result = cli(stack_env, endpoint, "scorers", "compare", NAME, "--json")
            data = json.loads(result.stdout) if result.returncode == 0 else {}
            return data if data.get("count") == 2 else None

        comparison = eventually(two_compared, "two shadow results", timeout=60)
        assert (comparison["agreement_rate"], comparison["changed_count"]) == (0.5, 1)
        promoted = cli(stack_env, endpoint, "scorers", "promote", f"{NAME}@2")
        assert promoted.returncode == 0, promoted.stderr
        export(endpoint, 3, WITHOUT_TRACKING)
        after = downstream.wait_for(lambda s: len(s) >= 3, 60)
        third = next(s for s in after if s.trace_id == "03" * 16)
        assert third.attributes[REASON] == "v2: no tracking number"

        def shadow_outcomes() -> float:  # two scored, nothing skipped
            return max((s.get(semconv.METRIC_SHADOW_OUTCOMES, 0.0) for s in metrics.snapshots()), default=0.0)

        assert eventually(lambda: shadow_outcomes() == 2, "shadow outcomes exported", timeout=60)
