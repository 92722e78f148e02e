"""What recording the console's data costs, and what its reads cost: results counted per second on the
scoring path (``ConsoleRecorder.record_interactions``, no I/O), one flush of a busy interval, and the
console's reads over a day of minute rollups, on SQLite (or the PostgreSQL database given).

    .venv/bin/python benchmarks/console_data_bench.py [--records 200000] [--flush-records 5000]
        [--day-minutes 1440] [--state-db postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.console.queries import ConsoleQueries, FailingFilter
from evaluator_service.console.recorder import ConsoleRecorder
from evaluator_service.console.settings import ConsoleDataConfig
from evaluator_service.state import SharedState, open_shared_state

SCORERS, AGENTS, SERVICES = 5, 3, 2


def records(count: int, start: float, spread_s: float) -> list[InteractionRecord]:
    """``count`` results over ``spread_s`` seconds: 5 scorers x 3 agents x 2 services; 20% fail or error
    (5% errors)."""
    out = []
    for i in range(count):
        error = i % 20 == 0
        score = None if error else (i % 10) / 10 + 0.05
        out.append(InteractionRecord(
            scorer=f"scorer-{i % SCORERS}", trace_id=f"{i:032x}", span_id=f"{i:016x}",
            at=start + spread_s * i / count, example={"input": "where is my order?", "actual_output": "soon"},
            threshold=0.25, score=score, passed=None if score is None else score >= 0.25,
            reason="no answer within 5s" if error else "judge's reason",
            error_kind="timeout" if error else None,
            service=f"service-{i % SERVICES}", agent=f"agent-{i % AGENTS}", environment="prod",
            latency_s=0.01, attributes={"gen_ai.request.model": "gpt-4.1"}))
    return out


async def timed(fn: Callable[[], Awaitable[object]], runs: int) -> tuple[float, float]:
    """Median and max seconds of ``runs`` calls."""
    durations = []
    for _ in range(runs):
        began = time.perf_counter()
        await fn()
        durations.append(time.perf_counter() - began)
    return statistics.median(durations), max(durations)


async def main(args: argparse.Namespace) -> None:
    now = time.time()
    sample = records(1000, now, 60)
    recorder = ConsoleRecorder(ConsoleDataConfig(max_pending=10**9), state=None)  # type: ignore[arg-type]
    began = time.perf_counter()
    for i in range(args.records):
        recorder.record_interactions(sample[i % 1000:i % 1000 + 1])
    spent = time.perf_counter() - began
    print(f"record: {args.records / spent:,.0f} results/s ({spent / args.records * 1e6:.2f} us per result, "
          "one result per scored span)")
    with tempfile.TemporaryDirectory() as tmp:
        state = open_shared_state(args.state_db or f"sqlite:///{Path(tmp) / 'state.sqlite3'}")
        await state.open()
        try:
            await measure_state(state, args, now)
        finally:
            await state.close()


async def measure_state(state: SharedState, args: argparse.Namespace, now: float) -> None:
    config = ConsoleDataConfig()
    where = "PostgreSQL" if args.state_db else "SQLite"
    durations = []
    for round_ in range(5):
        recorder = ConsoleRecorder(config, state)
        batch = records(args.flush_records, now - round_ * 5, 5)
        kept = sum(r.passed is not True for r in batch)
        recorder.record_interactions(batch)
        began = time.perf_counter()
        await recorder.flush()
        durations.append(time.perf_counter() - began)
    print(f"flush: median {statistics.median(durations) * 1e3:.0f} ms, max {max(durations) * 1e3:.0f} ms for "
          f"{args.flush_records} results in 5 s (60 rollup keys x 2 granularities, "
          f"{kept} failing or errored records, the errored ones also not-evaluated samples) on {where}")
    day_start = now - args.day_minutes * 60
    loader = ConsoleRecorder(config, state)
    loader.record_interactions(records(args.day_minutes * SCORERS * AGENTS * SERVICES, day_start,
                                       args.day_minutes * 60))
    await loader.flush()
    queries = ConsoleQueries(state)
    overview_s = await timed(lambda: queries.overview(day_start, now, step_s=900), 10)
    filtered_s = await timed(lambda: queries.overview(day_start, now, step_s=900, agent="agent-1"), 10)
    page_s = await timed(lambda: queries.failing(FailingFilter(scorer="scorer-2"), limit=50), 10)
    missing_s = await timed(lambda: queries.not_evaluated(day_start, now, step_s=900), 10)
    print(f"reads over {args.day_minutes} minutes of minute rollups ({args.day_minutes * 30:,} rows) "
          f"on {where}: "
          f"overview (96 slots) median {overview_s[0] * 1e3:.0f} ms, max {overview_s[1] * 1e3:.0f} ms; "
          f"overview of one agent {filtered_s[0] * 1e3:.0f} ms; failing page of 50 {page_s[0] * 1e3:.1f} ms; "
          f"not-evaluated summary {missing_s[0] * 1e3:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--flush-records", type=int, default=5_000)
    parser.add_argument("--day-minutes", type=int, default=1440)
    parser.add_argument("--state-db", default=None,
                        help="a postgresql:// URL (default: SQLite in a temp dir)")
    asyncio.run(main(parser.parse_args()))
