"""What the console's pages cost end to end: HTTP request, the read API, template rendering, over a day of
minute rollups and failing interactions (the data of ``console_data_bench.py``), on SQLite (or the
PostgreSQL database given). Plotly draws in the browser, so its time is not here.

    .venv/bin/python benchmarks/console_pages_bench.py [--day-minutes 1440] [--runs 10]
        [--state-db postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from console_data_bench import AGENTS, SCORERS, SERVICES, records

from evaluator_service.config import load_config
from evaluator_service.console.recorder import ConsoleRecorder
from evaluator_service.console.server import ConsoleServer
from evaluator_service.state import open_shared_state

KEY = "bench-admin-key"
PAGES = ["/", "/?range=7d", "/?agent=agent-1", "/failing", "/failing?scorer=scorer-2&min_score=0.1",
         "/not-evaluated", "/issues", "/alerts", "/scorers"]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.state_db or f"sqlite:///{Path(tmp) / 'state.sqlite3'}"
        config = load_config(data_dir=tmp, api_key=KEY, state_db=url, environ={})
        state = open_shared_state(url)
        await state.open()
        now = time.time()
        loader = ConsoleRecorder(config.console_data, state)
        count = args.day_minutes * SCORERS * AGENTS * SERVICES
        day = records(count, now - args.day_minutes * 60, args.day_minutes * 60)
        hour = len(day) * 60 // args.day_minutes or len(day)
        for first in range(0, len(day), hour):  # flushed an hour at a time, as a replica would (every 5 s)
            loader.record_interactions(day[first:first + hour])
            await loader.flush()
        server = ConsoleServer(config, state)
        await server.start("127.0.0.1:0")
        try:
            async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}",
                                             cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await http.post("/login", data={"key": KEY})
                where = "PostgreSQL" if args.state_db else "SQLite"
                print(f"{count:,} results over {args.day_minutes} minutes on {where}; "
                      f"{args.runs} GETs per page, median / max:")
                reads = []
                for _ in range(args.runs):
                    began = time.perf_counter()
                    await server.context.queries.overview(now - 86400, now, 3600)
                    reads.append(time.perf_counter() - began)
                print(f"  (the read API alone, ConsoleQueries.overview of the day: median "
                      f"{statistics.median(reads) * 1e3:.0f} ms)")
                for page in PAGES:
                    durations = []
                    for _ in range(args.runs):
                        began = time.perf_counter()
                        async with http.get(page) as response:
                            body = await response.read()
                            assert response.status == 200, (page, response.status)
                        durations.append(time.perf_counter() - began)
                    print(f"  {page:45} {statistics.median(durations) * 1e3:6.0f} ms "
                          f"{max(durations) * 1e3:6.0f} ms  ({len(body) // 1024} KiB)")
        finally:
            await server.stop()
            await state.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day-minutes", type=int, default=1440)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--state-db", default=None,
                        help="a postgresql:// URL (default: SQLite in a temp dir)")
    asyncio.run(main(parser.parse_args()))
