"""What ``@observe(scorer_config=TraceScorerConfig(...))`` costs the caller's thread.

The harness (this script without ``--workload``) starts the project's OTLP/gRPC receiver and runs the
workload as a separate process (this script with ``--workload``), so the receiver never competes for the
workload's interpreter lock. The workload times an ``@observe``-decorated trivial function that calls one
``@observe(span_type="tool")`` child, in blocks of ``--calls`` calls with ``perf_counter_ns``; between blocks
``judgment.flush()`` runs outside the timed region (it also waits for local scores), so nothing is dropped.
Variants, interleaved over ``--rounds`` rounds:

* ``plain``: no ``scorer_config`` (the floor);
* ``hosted rate 0``: a ``server_hosted=True`` trace scorer, sampled out (one trace-id comparison);
* ``hosted rate 1``: sampled: the request attribute on the span and the ``judgeval=t`` tracestate member
  on the current span context, inherited by the child span;
* ``local rate 1``: a ``server_hosted=False`` trace scorer: the child and the bounding span are kept, and a
  scoring job is handed to the local-scoring threads (the scoring itself runs there, not timed here).

Prints a markdown table (median, p10, p90 ns per call of the blocks) and the spans received.
Usage: ``.venv/bin/python benchmarks/trajectory_sdk_bench.py [--calls 1000] [--blocks 30] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

VARIANTS = ("plain", "hosted rate 0", "hosted rate 1", "local rate 1")


def _workload(endpoint: str, variant: str, calls: int, blocks: int) -> dict[str, Any]:
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{endpoint}"
    os.environ["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
    os.environ["OTEL_LOGS_EXPORTER"] = "none"
    from judgeval.scorers.trace_scorer import TraceScorer
    from judgeval.tracer import Tracer, TraceScorerConfig

    class LoopScorer(TraceScorer):
        name: str = "Loop"

        async def a_score_trace(self, trace: Any) -> float:
            return 1.0

    judgment = Tracer(project_name="bench")
    config = None
    if variant != "plain":
        hosted = variant.startswith("hosted")
        rate = 0.0 if variant.endswith("rate 0") else 1.0
        config = TraceScorerConfig(scorer=LoopScorer(server_hosted=hosted), sampling_rate=rate)

    @judgment.observe(span_type="tool")
    def lookup(question: str) -> str:
        return question

    @judgment.observe(span_type="function", scorer_config=config)
    def run(question: str) -> str:
        return lookup(question)

    question = "Where is my package? I ordered it last week, ok?"
    samples = []
    clock = time.perf_counter_ns
    for _ in range(blocks):
        start = clock()
        for _ in range(calls):
            run(question)
        samples.append((clock() - start) / calls)
        judgment.flush(30_000)
    judgment.shutdown()
    return {"samples": samples, "spans": calls * blocks * 2}


def _harness(args: argparse.Namespace) -> None:
    sys.path.insert(0, os.path.dirname(__file__))
    from bench_common import TimedReceiver, machine

    receiver = TimedReceiver(keep_requests=False).start()
    pooled: dict[str, list[float]] = {v: [] for v in VARIANTS}
    try:
        for _ in range(args.rounds):
            for variant in VARIANTS:
                done = subprocess.run(
                    [sys.executable, __file__, "--workload", variant, "--endpoint", receiver.endpoint,
                     "--calls", str(args.calls), "--blocks", str(max(2, args.blocks // args.rounds))],
                    capture_output=True, text=True, check=True, timeout=600,
                )
                pooled[variant] += json.loads(done.stdout.strip().splitlines()[-1])["samples"]
        # two spans per call, plus one ``evaluate Loop`` result span per local-scored call
        expected = (sum(len(s) for s in pooled.values()) * 2 + len(pooled["local rate 1"])) * args.calls
        received = receiver.wait_count(expected, 60)
    finally:
        receiver.stop()
    print(f"machine: {machine()}")
    print(f"spans received: {receiver.count} of {expected} expected ({'all' if received else 'MISSING'})")
    print("| variant | median ns/call | p10 | p90 |\n|---|---:|---:|---:|")
    for variant, samples in pooled.items():
        deciles = statistics.quantiles(samples, n=10)
        print(f"| {variant} | {statistics.median(samples):,.0f} | {deciles[0]:,.0f} | {deciles[-1]:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per timed block")
    parser.add_argument("--blocks", type=int, default=30, help="timed blocks per variant")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--workload", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload:
        print(json.dumps(_workload(args.endpoint, args.workload, args.calls, args.blocks)))
    else:
        _harness(args)


if __name__ == "__main__":
    main()
