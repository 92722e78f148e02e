"""Agent-side workloads only this project has: ``async_evaluate`` cost, and sustained span throughput.

Runs as its own process in the project's virtual environment, exporting over OTLP/gRPC to the receiver
the harness started (``agent_overhead.py``); prints one ``RESULT {json}`` line.

* ``evaluate``: the caller-thread cost of ``judgment.async_evaluate`` with a ``server_hosted`` scorer,
  called once inside each of many spans, at sampling rate 0.0 (sampled out) and 1.0 (tags the span).
  Each call is timed alone with ``perf_counter_ns``; the timer's own cost is measured and subtracted.
* ``sustained``: one process calls an ``@observe``-decorated function at a target rate (default 10,000
  spans/s) for a duration, paced in 10 ms ticks; the batch processor is configured only by the standard
  ``OTEL_BSP_*`` variables the harness passes. The harness counts what arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any


def _tracer(endpoint: str) -> Any:
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{endpoint}"
    os.environ["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
    from judgeval.tracer import Tracer

    return Tracer(project_name="bench")


def _timer_cost_ns(samples: int = 20000) -> float:
    clock = time.perf_counter_ns
    costs = []
    for _ in range(samples):
        start = clock()
        costs.append(clock() - start)
    return statistics.median(costs)


def run_evaluate(endpoint: str, spans: int) -> dict[str, Any]:
    """Median/p99 ns of one ``async_evaluate`` call on the caller's thread, per sampling rate."""
    from judgeval.data import Example
    from judgeval.scorers.example_scorer import ExampleScorer

    class PackageInquiryScorer(ExampleScorer):
        name: str = "Package Inquiry Scorer"
        server_hosted: bool = True

    judgment = _tracer(endpoint)
    scorer = PackageInquiryScorer()
    # Extra fields are how the docs build examples; pydantic allows them, mypy cannot know.
    example = Example(  # type: ignore[call-arg]
        input="Where is my package?", actual_output="It ships tomorrow."
    )
    tracer = judgment.otel_tracer
    clock = time.perf_counter_ns
    timer = _timer_cost_ns()
    result: dict[str, Any] = {"timer_ns": timer}
    for rate in (0.0, 1.0):
        costs = []
        for index in range(spans):
            with tracer.start_as_current_span("turn"):
                start = clock()
                judgment.async_evaluate(scorer, example, sampling_rate=rate)
                costs.append(clock() - start - timer)
            if index % 1000 == 999:
                judgment.flush()
        costs.sort()
        result[f"rate_{rate}"] = {
            "median_ns": statistics.median(costs),
            "p99_ns": costs[int(len(costs) * 0.99)],
        }
    judgment.flush()
    result["spans"] = 2 * spans
    return result


def run_sustained(endpoint: str, rate: int, seconds: float) -> dict[str, Any]:
    """Call a decorated function ``rate`` times a second for ``seconds``; report what was produced."""
    judgment = _tracer(endpoint)

    @judgment.observe(span_type="tool")
    def lookup_order(order_id: str) -> str:
        return f"order {order_id} ships tomorrow"

    tick = 0.01
    per_tick = max(1, round(rate * tick))
    produced = 0
    late_ticks = 0
    start = time.perf_counter()
    next_tick = start
    end = start + seconds
    while next_tick < end:
        for _ in range(per_tick):
            lookup_order("12345")
        produced += per_tick
        next_tick += tick
        pause = next_tick - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        else:
            late_ticks += 1
    elapsed = time.perf_counter() - start
    flushed = judgment.flush(30000)
    return {
        "produced": produced,
        "elapsed_s": elapsed,
        "achieved_rate": produced / elapsed,
        "late_ticks": late_ticks,
        "flush_ok": flushed,
        "bsp": {k: v for k, v in os.environ.items() if k.startswith("OTEL_BSP_")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("evaluate", "sustained"))
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--spans", type=int, default=20000, help="evaluate: spans per sampling rate")
    parser.add_argument("--rate", type=int, default=10000, help="sustained: spans per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="sustained: duration")
    args = parser.parse_args()
    if args.mode == "evaluate":
        result = run_evaluate(args.endpoint, args.spans)
    else:
        result = run_sustained(args.endpoint, args.rate, args.seconds)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
