"""Two evaluator replicas behind the real collector's load-balanced config: the trajectory feed is balanced
by trace id like the evaluation route, so each trace's copies reach one replica, which scores it once;
results land in Jaeger under their bounding spans."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import yaml
from judgeval import semconv
from judgeval.semconv import ScoreField, score_attribute
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.support.processes import REPO_ROOT
from tests.support.spans import make_request
from tests.support.trajectories import LOOP_SCORER, clean_run, looping_run, requests_value
from tools.localstack.binaries import OtelBinaries
from tools.localstack.jaeger_query import JaegerSpan
from tools.localstack.procs import COLLECTOR_CONFIG_DIR, free_endpoint
from tools.localstack.stack import JaegerInstance, start_collector

TRACES = 16


@contextmanager
def _replica(config: Path, data_dir: Path, export_endpoint: str, listen: str) -> Iterator[None]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.trajectory_evaluator",
            str(config),
            str(data_dir),
            export_endpoint,
            listen,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().startswith("port ")
        yield
    finally:
        process.terminate()
        process.wait(30)


def _scored(originals: int) -> Callable[[list[JaegerSpan]], bool]:
    return lambda spans: len(spans) > originals and any(s.name.startswith("evaluate") for s in spans)


def test_each_trace_is_scored_once_by_the_replica_its_trace_id_routes_to(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, tmp_path: Path
) -> None:
    config = tmp_path / "evaluator.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "trajectories": {"grace_s": 0.5, "tick_s": 0.05},
                "export": {"backoff_initial_s": 0.05, "backoff_max_s": 0.5},
            }
        )
    )
    first, second = free_endpoint(), free_endpoint()
    runs = [(looping_run if i % 2 else clean_run)(requests=requests_value("trace")) for i in range(TRACES)]
    with (
        start_collector(
            otel_binaries.otelcol,
            tmp_path / "otelcol",
            first,
            jaeger.otlp_grpc_endpoint,
            config=COLLECTOR_CONFIG_DIR / "otelcol-loadbalanced.yaml",
            JUDGEVAL_EVALUATOR_ENDPOINTS=f"[{first}, {second}]",
        ) as collector,
        _replica(config, tmp_path / "a", collector.grpc_endpoint, first),
        _replica(config, tmp_path / "b", collector.grpc_endpoint, second),
        grpc.insecure_channel(collector.grpc_endpoint) as channel,
    ):
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for run in runs:
            stub.Export(make_request(run.spans), timeout=10)
        traces = [
            jaeger.query.wait_for_trace(run.trace_id.hex(), _scored(len(run.spans)), 60) for run in runs
        ]
    replicas = Counter()
    for i, (run, trace) in enumerate(zip(runs, traces, strict=True)):
        [result] = [s for s in trace if s.name == f"evaluate {LOOP_SCORER}"]
        assert result.parent_span_id == run.bounding.span_id.hex()
        assert result.attributes[score_attribute(LOOP_SCORER, ScoreField.VALUE)] == (0.0 if i % 2 else 1.0)
        assert set(Counter(s.span_id for s in trace).values()) == {1}  # originals once, copies never
        replicas[result.attributes[semconv.JUDGEVAL_EVAL_EVALUATOR].rpartition(":")[2]] += 1
    assert set(replicas) == {first.rpartition(":")[2], second.rpartition(":")[2]}
