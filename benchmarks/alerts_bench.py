"""What the alert engine costs: score events folded per second on the scoring path (``AlertManager.record``,
no I/O), and the time of one tick (flush counts, judge every alert in its own transaction) on SQLite.

    .venv/bin/python benchmarks/alerts_bench.py [--alerts 20] [--events 200000] [--ticks 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from evaluator_service.alerts.config import parse_alerts
from evaluator_service.alerts.events import ScoreEvent
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.config_values import Section
from evaluator_service.state import SqliteSharedState


def _alerts(count: int) -> list[Section]:
    kinds = [{"failure_rate_above": 0.2, "window": "5m", "min_count": 10}, {"score_below": 0.3},
             {"burn_rate": {"objective": 0.99}}, {"errors_above": 5, "window": "1m"}]
    return [Section({"name": f"a{i}", "scorer": f"s{i % 5}", "service": "bot", **kinds[i % len(kinds)]},
                    f"alerts[{i}]") for i in range(count)]


async def main(args: argparse.Namespace) -> None:
    manager = AlertManager(parse_alerts(_alerts(args.alerts)))
    events = [ScoreEvent(f"s{i % 5}", (i % 10) / 10, i % 10 >= 3, None, "ab" * 16, "cd" * 8, "bot",
                         {"service.name": "bot"}, 0.0) for i in range(1000)]
    start = time.perf_counter()
    for i in range(args.events):
        manager.record(events[i % 1000])
    folded = time.perf_counter() - start
    print(f"record: {args.events / folded:,.0f} score events/s with {args.alerts} alerts "
          f"({folded / args.events * 1e6:.2f} us per event)")
    with tempfile.TemporaryDirectory() as tmp:
        state = SqliteSharedState(Path(tmp) / "state.sqlite3")
        await state.open()
        await manager.open(state)
        durations = []
        for _ in range(args.ticks):
            for i in range(200):
                manager.record(events[i])
            began = time.perf_counter()
            await manager.tick()
            durations.append(time.perf_counter() - began)
        await state.close()
    print(f"tick: median {statistics.median(durations) * 1e3:.1f} ms, max {max(durations) * 1e3:.1f} ms "
          f"for {args.alerts} alerts on SQLite")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--ticks", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
