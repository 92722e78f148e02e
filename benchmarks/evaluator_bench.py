"""Evaluator benchmarks: throughput, added latency and queued-span memory of ``judgeval-evaluator``.

Each scenario starts the real CLI as a subprocess (temporary data dir, YAML written here) exporting to
the project's ``OtlpTraceReceiver`` in this process; a gRPC sender posts pre-serialized
``ExportTraceServiceRequest`` batches to it. Scenarios: pass-through (untagged) spans, spans scored by a
built-in deterministic scorer (``keyword``), spans scored by an LLM judge against ``RecordedOpenAIServer``
answering after 200 ms (throughput vs ``scoring.concurrency``), added end-to-end latency at a paced load,
the in-process floor (parse + add one event and attributes + serialize, same spans), and the RSS of an
evaluator holding N spans while the downstream is unavailable. Writes ``results/evaluator.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_common import BENCH_DIR, TimedReceiver, cpu_seconds, machine, rss_kib, write_results
from evaluator_process import EvaluatorProcess
from evaluator_spans import SpanBatches, floor_spans_per_s
from judgeval.testing import RecordedOpenAIServer, Recording

JUDGE_ANSWER = '{"score": 0.9, "reason": "The answer addresses the question."}'
JUDGE_KEY_ENV = "BENCH_JUDGE_API_KEY"
UPLOAD_API_KEY = "bench-admin-key"


def config_yaml(judge_base_url: str = "", concurrency: int = 16, max_spans: int = 200_000) -> str:
    """The evaluator YAML of a scenario: a keyword scorer, a judge against the recorded server."""
    judge = ""
    if judge_base_url:
        judge = (f"  - name: bench_judge\n    type: answer_relevancy\n    model: gpt-4o-mini\n"
                 f"    base_url: {judge_base_url}\n    api_key_env: {JUDGE_KEY_ENV}\n")
    return (
        f"queue:\n  max_spans: {max_spans}\n  max_bytes: 8589934592\n"
        f"scoring:\n  concurrency: {concurrency}\n  timeout_s: 30\n"
        # The judge scenarios measure scoring concurrency, not the default judge-call rates (500/s, 100/s
        # per scorer), which would cap them.
        "  judge_calls_per_s: 100000\n  judge_calls_per_s_per_scorer: 100000\n"
        "scorers:\n"
        "  - name: bench_keyword\n    type: keyword\n    options: {keywords: [package, order]}\n"
        + judge
    )


def throughput(receiver: TimedReceiver, yaml: str, kind: str, spans: int, batch: int,
               env: dict[str, str] | None = None, timeout: float = 600,
               extra_args: Sequence[str] = (), prepare: Callable[[EvaluatorProcess], None] | None = None,
               ) -> dict[str, Any]:
    """Send ``spans`` spans as fast as accepted; spans/s from first send to last downstream arrival."""
    receiver.reset()
    batches = SpanBatches(kind, batch)
    payloads = [batches.payload(i) for i in range((spans + batch - 1) // batch)]
    total = sum(batches.sizes)
    with EvaluatorProcess(receiver.endpoint, yaml, env, extra_args) as evaluator:
        if prepare is not None:
            prepare(evaluator)
        cpu_start = cpu_seconds(evaluator.pid)
        start = time.perf_counter()
        evaluator.send_all(payloads, senders=4)
        accepted = time.perf_counter()
        arrived = receiver.wait_count(total, timeout)
        end = time.perf_counter()
        cpu = cpu_seconds(evaluator.pid) - cpu_start
        rss = rss_kib(evaluator.pid)
    return {
        "kind": kind, "spans": total, "batch": batch, "all_arrived": arrived, "received": receiver.count,
        "intake_spans_per_s": total / (accepted - start),
        "end_to_end_spans_per_s": total / (end - start) if arrived else None,
        "evaluator_rss_kib": rss, "statuses": dict(receiver.statuses),
        "evaluator_cpu_percent": 100 * cpu / (end - start),
    }


def latency(receiver: TimedReceiver, yaml: str, kind: str, rate: int, seconds: float, batch: int,
            env: dict[str, str] | None = None) -> dict[str, Any]:
    """Paced sends of ``rate`` spans/s; per span: downstream arrival time minus send time."""
    receiver.reset()
    receiver.track_arrivals = True
    batches = SpanBatches(kind, batch)
    count = max(1, int(rate * seconds / batch))
    payloads = [batches.payload(i) for i in range(count)]
    sent: dict[int, float] = {}
    try:
        with EvaluatorProcess(receiver.endpoint, yaml, env) as evaluator:
            next_send = time.perf_counter()
            for index, payload in enumerate(payloads):
                pause = next_send - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                sent[index] = time.perf_counter()
                evaluator.send(payload)
                next_send += batch / rate
            receiver.wait_count(count * batch, 60)
    finally:
        receiver.track_arrivals = False
    delays = sorted(
        (receiver.arrivals[span_id] - sent[batches.batch_of(span_id)]) * 1000
        for span_id in list(receiver.arrivals)
    )
    if not delays:
        return {"kind": kind, "error": "no span arrived"}
    return {
        "kind": kind, "rate": rate, "seconds": seconds, "spans": count * batch, "received": len(delays),
        "p50_ms": statistics.median(delays), "p99_ms": delays[int(len(delays) * 0.99) - 1],
        "max_ms": delays[-1],
    }


def judge_throughput(
    receiver: TimedReceiver, concurrency: int, delay_ms: int, seconds: float
) -> dict[str, Any]:
    """LLM-judge scoring throughput at one ``scoring.concurrency``, the judge answering after delay_ms."""
    ideal = concurrency * 1000 / delay_ms
    spans = max(200, int(ideal * seconds))
    with RecordedOpenAIServer([Recording(answer=JUDGE_ANSWER, delay_ms=delay_ms)]) as judge:
        yaml = config_yaml(judge.base_url, concurrency)
        result = throughput(receiver, yaml, "judge", spans, 256, {JUDGE_KEY_ENV: "bench"}, timeout=300)
        result["judge_requests"] = len(judge.requests)
    result.update({"concurrency": concurrency, "judge_delay_ms": delay_ms, "ideal_spans_per_s": ideal})
    return result


def upload_bench_scorer(evaluator: EvaluatorProcess) -> None:
    """``judgeval upload_scorer`` of ``uploaded_scorer/bench_scorer.py`` to this evaluator's admin API."""
    folder = BENCH_DIR / "uploaded_scorer"
    cli = Path(sys.executable).with_name("judgeval")
    env = {**os.environ, "JUDGMENT_API_URL": evaluator.endpoint, "JUDGMENT_API_KEY": UPLOAD_API_KEY}
    argv = [str(cli), "upload_scorer", str(folder / "bench_scorer.py"), str(folder / "requirements.txt")]
    subprocess.run(argv,
                   env=env, check=True, capture_output=True, timeout=300)


def uploaded_throughput(receiver: TimedReceiver, spans: int, batch: int) -> dict[str, Any]:
    """Spans scored by an uploaded scorer, run in the sandboxed worker processes."""
    return throughput(receiver, config_yaml(), "uploaded", spans, batch, timeout=600,
                      extra_args=("--api-key", UPLOAD_API_KEY), prepare=upload_bench_scorer)


def memory(receiver: TimedReceiver, spans: int, batch: int, limit_s: float) -> dict[str, Any]:
    """RSS of an evaluator holding ``spans`` queued spans while the downstream answers UNAVAILABLE."""
    receiver.reset()
    batches = SpanBatches("untagged", batch)
    receiver.unavailable = True
    yaml = config_yaml(max_spans=spans + batch)
    try:
        with EvaluatorProcess(receiver.endpoint, yaml) as evaluator:
            idle = rss_kib(evaluator.pid)
            start = time.perf_counter()
            sent = 0
            index = 0
            while sent < spans and time.perf_counter() - start < limit_s:
                # never past the target: the queue limit is target + one batch, and a refused export
                # (UNAVAILABLE) is retried by the sender forever
                count = min(20, (spans - sent + batch - 1) // batch)
                chunk = [batches.payload(index + k) for k in range(count)]
                index += count
                evaluator.send_all(chunk, senders=4)
                sent += batch * count
            fill_s = time.perf_counter() - start
            full = rss_kib(evaluator.pid)
            db_bytes = sum(p.stat().st_size for p in Path(evaluator.data_dir).iterdir())
            receiver.unavailable = False
            drain_start = time.perf_counter()
            drained = receiver.wait_count(sent, max(120.0, limit_s))
            drain_s = time.perf_counter() - drain_start
            after = rss_kib(evaluator.pid)
    finally:
        receiver.unavailable = False
    return {
        "queued_spans": sent, "target_spans": spans, "fill_s": fill_s, "idle_rss_kib": idle,
        "full_rss_kib": full, "after_drain_rss_kib": after, "queue_file_bytes": db_bytes,
        "drained": drained, "drain_s": drain_s, "received": receiver.count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=50_000, help="spans per throughput scenario")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--uploaded-spans", type=int, default=20_000, help="spans for the uploaded scorer")
    parser.add_argument("--latency-rate", type=int, default=1000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--judge-concurrency", type=int, action="append")
    parser.add_argument("--judge-seconds", type=float, default=5.0)
    parser.add_argument("--memory-spans", type=int, default=1_000_000)
    parser.add_argument("--memory-limit-s", type=float, default=300.0, help="stop filling the queue after")
    parser.add_argument("--only", action="append",
                        choices=("floor", "passthrough", "keyword", "uploaded", "judge", "latency", "memory"))
    args = parser.parse_args()
    parts = args.only or ["floor", "passthrough", "keyword", "uploaded", "judge", "latency", "memory"]
    data: dict[str, Any] = {"machine": machine()}
    receiver = TimedReceiver(keep_requests=False).start()
    try:
        run_parts(data, parts, receiver, args)
    finally:
        receiver.stop()
    from evaluator_report import render

    path = write_results("evaluator", data, render(data))
    print(path.read_text())


def run_parts(data: dict[str, Any], parts: list[str], receiver: TimedReceiver, args: Any) -> None:
    def log(name: str, value: Any) -> None:
        data[name] = value
        print(f"  {name}: {value}", file=sys.stderr, flush=True)

    if "floor" in parts:
        log("floor", {k: floor_spans_per_s(k, args.batch) for k in ("untagged", "keyword")})
    if "passthrough" in parts:
        log("passthrough", throughput(receiver, config_yaml(), "untagged", args.spans, args.batch))
    if "keyword" in parts:
        log("keyword", throughput(receiver, config_yaml(), "keyword", args.spans, args.batch))
    if "uploaded" in parts:
        log("uploaded", uploaded_throughput(receiver, args.uploaded_spans, args.batch))
    if "judge" in parts:
        log("judge", [judge_throughput(receiver, c, 200, args.judge_seconds)
                      for c in (args.judge_concurrency or [16, 64, 256])])
    if "latency" in parts:
        log("latency", [latency(receiver, config_yaml(), k, args.latency_rate, args.latency_seconds, 50)
                        for k in ("untagged", "keyword")])
    if "memory" in parts:
        log("memory", memory(receiver, args.memory_spans, args.batch, args.memory_limit_s))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
