"""Through the real collector: ``otelcol-judgeval`` with ``collector-config/otelcol-loadbalanced.yaml`` in
front of N ``judgeval-evaluator`` replicas, exporting to the project's ``OtlpTraceReceiver`` as backend.

The sender posts a mix of tagged (``keyword`` scorer) and untagged spans to the collector; the benchmark
measures spans/s from the first send until every span reached the backend, and reports the statuses they
arrived with: each tagged span scored exactly once, each untagged one ``not_selected`` (they are GenAI tool
spans, so rule candidates: the collector routes them through the evaluator, which marks them). Needs the
collector binary built by ``scripts/otel-binaries``; without it the scenario is skipped with the reason.
Writes ``results/collector.{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench_common import TimedReceiver, cpu_seconds, machine, write_results
from evaluator_bench import config_yaml
from evaluator_process import EvaluatorProcess, RawSender
from evaluator_spans import SpanBatches

ROOT = Path(__file__).resolve().parent.parent
COLLECTOR_CONFIG = ROOT / "collector-config" / "otelcol-loadbalanced.yaml"


def collector_binary() -> tuple[str | None, str]:
    """The otelcol binary from ``scripts/otel-binaries`` (which only builds if not cached), or why not."""
    try:
        done = subprocess.run([str(ROOT / "scripts" / "otel-binaries")], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        return None, "scripts/otel-binaries did not finish within 120 s (binaries not built yet)"
    for line in done.stdout.splitlines():
        if line.startswith("OTELCOL="):
            return line.split("=", 1)[1], ""
    return None, f"scripts/otel-binaries exited {done.returncode}: {done.stderr.strip()[-300:]}"


def free_port() -> int:
    # The collector takes its listen addresses from the environment and cannot report a port-0 choice.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def collector(
    binary: str, evaluators: list[str], backend: str, grpc_port: int
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the collector on ``grpc_port``; yields its OTLP/gRPC endpoint (and process) once healthy."""
    http_port, health_port = free_port(), free_port()
    storage = tempfile.mkdtemp(prefix="judgeval-bench-otelcol-")
    env = {**os.environ,
           "JUDGEVAL_COLLECTOR_GRPC_ENDPOINT": f"127.0.0.1:{grpc_port}",
           "JUDGEVAL_COLLECTOR_HTTP_ENDPOINT": f"127.0.0.1:{http_port}",
           "JUDGEVAL_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{health_port}",
           "JUDGEVAL_COLLECTOR_STORAGE_DIR": storage,
           "JUDGEVAL_EVALUATOR_ENDPOINTS": "[" + ", ".join(evaluators) + "]",
           "JUDGEVAL_BACKEND_ENDPOINT": backend,
           "JUDGEVAL_COLLECTOR_LOG_LEVEL": "warn"}
    log = open(Path(storage) / "otelcol.log", "w")  # noqa: SIM115  closed below
    process = subprocess.Popen([binary, "--config", str(COLLECTOR_CONFIG)], env=env, stdout=log, stderr=log)
    try:
        _wait_healthy(f"http://127.0.0.1:{health_port}/", process)
        yield f"127.0.0.1:{grpc_port}", process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(storage, ignore_errors=True)


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"collector exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("collector health check did not answer within 30 s")


def run_through_collector(
    binary: str, replicas: int, tagged: int, untagged: int, batch: int
) -> dict[str, Any]:
    """Send tagged + untagged spans through the collector to ``replicas`` evaluators; time until delivered."""
    backend = TimedReceiver(keep_requests=False).start()
    payloads = [SpanBatches("keyword", batch).payload(i) for i in range(tagged // batch)]
    untagged_batches = SpanBatches("untagged", batch)
    payloads += [untagged_batches.payload(10_000 + i) for i in range(untagged // batch)]
    total = batch * len(payloads)
    collector_port = free_port()  # evaluators must know where to re-export before the collector starts
    evaluators = [EvaluatorProcess(f"127.0.0.1:{collector_port}", config_yaml()) for _ in range(replicas)]
    try:
        endpoints = [e.endpoint for e in evaluators]
        with collector(binary, endpoints, backend.endpoint, collector_port) as (ep, col):
            sender = RawSender(ep)
            cpu_before = _cpu_by_role(col.pid, evaluators)
            start = time.perf_counter()
            sender.send_all(payloads, senders=4)
            arrived = backend.wait_count(total, 300)
            elapsed = time.perf_counter() - start
            cpu_after = _cpu_by_role(col.pid, evaluators)
            cpu = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}
            sender.close()
    finally:
        for evaluator in evaluators:
            evaluator.stop()
        backend.stop()
    return {"replicas": replicas, "spans": total, "tagged": batch * (tagged // batch), "all_arrived": arrived,
            "received": backend.count, "statuses": dict(backend.statuses),
            "end_to_end_spans_per_s": total / elapsed if arrived else None, "elapsed_s": elapsed,
            "cpu_s": cpu}


def _cpu_by_role(collector_pid: int, evaluators: list[EvaluatorProcess]) -> dict[str, float]:
    """CPU seconds used so far by the collector, the evaluators (summed) and this process (the sender
    and the backend receiver)."""
    return {"collector": cpu_seconds(collector_pid),
            "evaluators": sum(cpu_seconds(e.pid) for e in evaluators),
            "sender + backend": time.process_time()}


def render(data: dict[str, Any]) -> str:
    if "skipped" in data:
        return f"Through the real collector: not measured — {data['skipped']}\n"
    lines = ["### Through the real collector (`otelcol-loadbalanced.yaml`, load_balancing by trace id)", "",
             "| evaluator replicas | spans (tagged) | end-to-end spans/s | all arrived | "
             "eval status received | CPU ms per 1,000 spans: collector / evaluators / sender + backend "
             "| CPUs busy |",
             "|---:|---:|---:|---|---|---|---:|"]
    for r in data["runs"]:
        if "error" in r:
            lines.append(f"| {r['replicas']} | failed: {r['error'][:200]} | | | |")
            continue
        statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(r["statuses"].items()))
        rate = f"{r['end_to_end_spans_per_s']:,.0f}" if r["end_to_end_spans_per_s"] else "n/a"
        cpu = r["cpu_s"]
        per_k = " / ".join(f"{1e6 * cpu[role] / r['spans']:,.0f}" for role in cpu)
        busy = sum(cpu.values()) / r["elapsed_s"]
        lines.append(f"| {r['replicas']} | {r['spans']:,} ({r['tagged']:,}) | {rate} | "
                     f"{'yes' if r['all_arrived'] else 'NO'} | {statuses} | {per_k} | {busy:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tagged", type=int, default=50_000)
    parser.add_argument("--untagged", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--replicas", type=int, action="append")
    args = parser.parse_args()
    data: dict[str, Any] = {"machine": machine()}
    binary, why = collector_binary()
    if binary is None:
        data["skipped"] = why
    else:
        data["runs"] = []
        for replicas in args.replicas or [1, 2]:
            try:
                result = run_through_collector(binary, replicas, args.tagged, args.untagged, args.batch)
            except RuntimeError as exc:
                result = {"replicas": replicas, "error": str(exc)}
            print(f"  collector x{replicas}: {result}", file=sys.stderr, flush=True)
            data["runs"].append(result)
    path = write_results("collector", data, render(data))
    print(path.read_text())


if __name__ == "__main__":
    main()
