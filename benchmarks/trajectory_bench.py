"""Trajectory scoring benchmarks: pass-through with the trajectory feed on, buffered trajectories per GiB, and
latency from the bounding span's arrival to its score downstream.

    .venv/bin/python benchmarks/trajectory_bench.py [--quick]

Real processes: the evaluator CLI (pass-through) or the evaluator with the test trajectory scorer
(``tests.support.trajectory_evaluator``: the ToolLoopScorer, a deterministic trace scorer), real gRPC, the
project's OTLP receiver as the downstream. Prints one JSON object and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_common import TimedReceiver, machine
from benchmarks.evaluator_process import EvaluatorProcess
from tests.support.spans import make_request, make_span
from tests.support.trajectories import FEED_METADATA, agent_run, requests_value

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
ROOT = Path(__file__).resolve().parents[1]


class Sender:
    """Serialized exports over one channel, optionally marked as trajectory-feed copies."""

    def __init__(self, endpoint: str) -> None:
        self._channel = grpc.insecure_channel(endpoint, options=[("grpc.max_send_message_length", 64 << 20)])
        self._call = self._channel.unary_unary(
            EXPORT,
            request_serializer=None,
            response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString,
        )

    def send(self, payload: bytes, feed: bool = False) -> None:
        delay = 0.05
        while True:
            try:
                self._call(payload, timeout=60, metadata=FEED_METADATA if feed else None)
                return
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                    raise
                time.sleep(delay)
                delay = min(1.0, delay * 2)

    def close(self) -> None:
        self._channel.close()


def _untagged_payload(spans: int) -> bytes:
    return make_request(
        [make_span(f"step-{i}", {"app.note": "x" * 64}) for i in range(spans)]
    ).SerializeToString()


def _trajectory_payload(tools: int = 18) -> bytes:
    run = agent_run(
        [("search_web", {"q": f"query {i}" * 8}) for i in range(tools)], requests=requests_value("trace")
    )
    return make_request(run.spans).SerializeToString()


def passthrough(requests: int, with_feed: bool) -> dict[str, float]:
    """Untagged spans/s through the CLI evaluator; with the feed, one 20-span trajectory copy export is sent
    beside every 4 pass-through exports (its copies are buffered, never forwarded)."""
    payload = _untagged_payload(512)
    feed = [_trajectory_payload() for _ in range(requests // 4)] if with_feed else []
    receiver = TimedReceiver(keep_requests=False).start()
    # a long grace keeps the sweep out of the measured window: this measures intake and forwarding
    yaml = "trajectories: {grace_s: 3600}\nqueue: {max_spans: 2000000, max_bytes: 4294967296}\n"
    with EvaluatorProcess(receiver.endpoint, yaml) as evaluator:
        sender = Sender(evaluator.endpoint)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            jobs = [pool.submit(sender.send, payload) for _ in range(requests)]
            jobs += [pool.submit(sender.send, p, True) for p in feed]
            for job in jobs:
                job.result()
        assert receiver.wait_count(requests * 512, 600)
        elapsed = time.perf_counter() - started
        sender.close()
    receiver.stop()
    return {
        "spans": requests * 512,
        "seconds": round(elapsed, 2),
        "spans_per_s": round(requests * 512 / elapsed),
        "feed_spans": len(feed) * 20,
    }


class _TrajectoryEvaluator:
    """``tests.support.trajectory_evaluator`` in a subprocess with its own data dir."""

    def __init__(self, export_endpoint: str, trajectories: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="judgeval-traj-bench-"))
        config = self.root / "evaluator.yaml"
        config.write_text(f"trajectories: {trajectories}\nexport: {{backoff_initial_s: 0.02}}\n")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.trajectory_evaluator",
                str(config),
                str(self.root / "data"),
                export_endpoint,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.endpoint = f"127.0.0.1:{int(self.process.stdout.readline().split()[1])}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def per_gib(trajectories: int) -> dict[str, float]:
    """Buffered 20-span trajectories (18 tool calls with ~90-byte arguments) per GiB of buffer file."""
    receiver = TimedReceiver(keep_requests=False).start()
    evaluator = _TrajectoryEvaluator(receiver.endpoint, "{grace_s: 3600}")
    try:
        sender = Sender(evaluator.endpoint)
        with ThreadPoolExecutor(max_workers=4) as pool:
            for job in [pool.submit(sender.send, _trajectory_payload(), True) for _ in range(trajectories)]:
                job.result()
        sender.close()
        data = evaluator.root / "data"
        size = sum(f.stat().st_size for f in data.glob("trajectories.sqlite3*"))
    finally:
        evaluator.stop()
        receiver.stop()
    return {
        "trajectories": trajectories,
        "bytes": size,
        "bytes_per_trajectory": round(size / trajectories),
        "per_gib": round(trajectories * (1 << 30) / size),
    }


class _ResultClock(TimedReceiver):
    """Notes when the first result span of each trace arrived."""

    def __init__(self) -> None:
        super().__init__(keep_requests=False)
        self.results: dict[bytes, float] = {}
        self.got = threading.Condition()

    def _add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        now = time.perf_counter()
        with self.got:
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        if span.name.startswith("evaluate "):
                            self.results.setdefault(span.trace_id, now)
            self.got.notify_all()


def latency(trajectories: int, grace_s: float) -> dict[str, float]:
    """Seconds from the bounding span's export reaching the evaluator (its children already there) to its
    result span reaching the downstream, one trajectory at a time."""
    receiver = _ResultClock().start()
    evaluator = _TrajectoryEvaluator(receiver.endpoint, f"{{grace_s: {grace_s}}}")
    samples = []
    try:
        sender = Sender(evaluator.endpoint)
        for _ in range(trajectories):
            run = agent_run([("search_web", {"q": "weather"})] * 3, requests=requests_value("trace"))
            sender.send(make_request(run.children).SerializeToString(), True)
            started = time.perf_counter()
            sender.send(make_request([run.bounding]).SerializeToString(), True)
            trace_id = run.trace_id
            with receiver.got:
                assert receiver.got.wait_for(lambda t=trace_id: t in receiver.results, timeout=60 + grace_s)
            samples.append(receiver.results[trace_id] - started)
        sender.close()
    finally:
        evaluator.stop()
        receiver.stop()
    samples.sort()
    return {
        "trajectories": trajectories,
        "grace_s": grace_s,
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    quick = parser.parse_args().quick
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    result = {
        "machine": machine(),
        "passthrough": passthrough(100 if quick else 400, with_feed=False),
        "passthrough_with_feed": passthrough(100 if quick else 400, with_feed=True),
        "per_gib": per_gib(500 if quick else 5000),
        "latency_grace_0": latency(50 if quick else 300, 0.0),
        "latency_grace_1": latency(10 if quick else 30, 1.0),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
