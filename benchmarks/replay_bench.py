"""What a replay sustains end to end: ``judgeval.evaluation.evaluate_dataset`` (the client ``judgeval eval
run`` uses) against an in-process evaluator over real gRPC, for a built-in scorer (``keyword``) and, as root
with ``--sandbox``, an uploaded scorer in real sandbox workers. Cases per second include building the
cases, every Evaluation API call (500 cases each), scoring, and the report.

    .venv/bin/python benchmarks/replay_bench.py [--cases 5000] [--sandbox]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from judgeval.evaluation import evaluate_dataset
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin import HostedScorers
from evaluator_service.admin.evaluation_servicer import evaluation_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.sandbox import SandboxConfig

KEY = "bench-key"
BENCH_DIR = Path(__file__).parent
UPLOADED = "Bench Uploaded Scorer"


def records(count: int) -> list[InteractionRecord]:
    return [InteractionRecord(scorer=UPLOADED, trace_id=f"{i:032x}", span_id=f"{i:016x}", at=float(i),
                              example={"input": "where is it?", "actual_output": f"your package {i} ships"
                                       if i % 3 else "no idea"}, threshold=0.5, score=0.0, passed=False)
            for i in range(count)]


async def replay(app: EvaluatorApp, cases: list[InteractionRecord], scorer: str,
                 config: dict[str, object]) -> tuple[float, float | None]:
    started = time.perf_counter()
    report = await asyncio.to_thread(evaluate_dataset, cases, scorer, scorer_config=config,
                                     api_url=f"127.0.0.1:{app.port}", api_key=KEY)
    return time.perf_counter() - started, report.pass_rate


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(listen="127.0.0.1:0", data_dir=str(Path(tmp) / "data"), api_key=KEY, environ={})
        hosted = HostedScorers.create(config.data_dir, KEY, SandboxConfig(), envs_dir=Path(tmp) / "envs") \
            if args.sandbox else None
        app: EvaluatorApp
        app = EvaluatorApp(config, scorer_sources=[hosted.source] if hosted else [], service_installers=[
            *([hosted.install] if hosted else []), evaluation_installer(lambda: app, KEY)])
        await app.start()
        try:
            cases = records(args.cases)
            seconds, rate = await replay(app, cases, "keyword", {"keywords": ["package"]})
            print(f"keyword (built-in): {args.cases} cases in {seconds:.2f} s = {args.cases / seconds:,.0f} "
                  f"cases/s (pass rate {rate:.2f})")
            if hosted is not None:
                scorer_file = BENCH_DIR / "uploaded_scorer" / "bench_scorer.py"
                await hosted.registry.upload(name="", source=scorer_file.read_text(),
                                             source_filename=scorer_file.name, requirements="")
                await replay(app, cases[:10], UPLOADED, {})  # start the sandbox workers
                seconds, rate = await replay(app, cases, UPLOADED, {})
                print(f"uploaded (sandbox): {args.cases} cases in {seconds:.2f} s = "
                      f"{args.cases / seconds:,.0f} cases/s (pass rate {rate:.2f})")
        finally:
            await app.stop(grace=2.0)
            if hosted is not None:
                await hosted.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--sandbox", action="store_true", help="also replay an uploaded scorer (root)")
    asyncio.run(main(parser.parse_args()))
