"""What scorer shadows cost: the shadow sink's ``observe`` on the scoring path (no shadow, queued, queue
full), writing shadow results in batches, and one ``compare`` over many stored results, on SQLite.

    .venv/bin/python benchmarks/shadow_bench.py [--records 200000] [--results 100000]

Uploads the docs' scorer twice (the second in shadow) into a temporary registry; building its environment
(pip --no-index, from this venv's packages) takes a few seconds before anything is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.registry import EnvironmentInstaller, Registry, UploadMode
from evaluator_service.sandbox.pool import SandboxPool
from evaluator_service.sandbox.uploaded_source import UploadedScorerSource
from evaluator_service.shadow.scoring import ShadowScoring
from evaluator_service.shadow.settings import ShadowConfig
from evaluator_service.state.shadow_rows import ShadowResult

DOCS_SCORER = Path(__file__).parents[1] / "examples" / "customer_service" / "customer_service_scorer.py"
NAME = "Package Inquiry Scorer"


def _record(i: int, scorer: str = NAME) -> InteractionRecord:
    return InteractionRecord(scorer=scorer, trace_id=f"{i:032x}", span_id="0" * 16, at=1.0,
                             example={"request": "Where is my package?", "response": "It ships today."},
                             threshold=0.5, score=1.0, passed=True, reason="ok")


def _per_record_us(shadow: ShadowScoring, records: list[InteractionRecord]) -> float:
    start = time.perf_counter()
    for record in records:
        shadow.observe((record,))
    return (time.perf_counter() - start) / len(records) * 1e6


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        installer = EnvironmentInstaller(Path(tmp) / "envs", pip_args=("--no-index",))
        registry = Registry(Path(tmp) / "data", installer=installer)
        await registry.start()
        source = DOCS_SCORER.read_text()
        for tag, mode, in_shadow in (("1", UploadMode.CREATE, False), ("2", UploadMode.NEW_VERSION, True)):
            await registry.upload(name="", source=f"{source}\n# {tag}\n", source_filename=DOCS_SCORER.name,
                                  requirements="pydantic\nopenai\n", mode=mode, shadow=in_shadow)
        uploads = UploadedScorerSource(registry, SandboxPool())
        n = args.records
        roomy = ShadowScoring(uploads, registry.state, ShadowConfig(max_queue=n))  # workers not started
        for what, records in (("scorer without a shadow", [_record(i, "Other") for i in range(n)]),
                              ("queued for shadow", [_record(i) for i in range(n)]),
                              ("queue full (counted)", [_record(i) for i in range(n)])):
            print(f"observe, {what + ':':<24} {_per_record_us(roomy, records):.2f} us/record")
        results = [ShadowResult(f"{i:032x}:{'0' * 16}:{NAME}", NAME, f"{i:032x}", "0" * 16, 1, 2, 1.0, True,
                                "ok", float(i % 2), i % 2 == 1, "shadow", float(i))
                   for i in range(args.results)]
        start = time.perf_counter()
        for offset in range(0, len(results), 500):
            await registry.state.store_shadow_results(results[offset:offset + 500])
        stored = time.perf_counter() - start
        print(f"store: {len(results) / stored:,.0f} shadow results/s in batches of 500")
        start = time.perf_counter()
        comparison = await registry.state.compare_shadow(NAME, 2, 20)
        print(f"compare over {comparison.count:,} results: {(time.perf_counter() - start) * 1000:.0f} ms "
              f"({comparison.changed_count:,} changed)")
        await registry.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--results", type=int, default=100_000)
    asyncio.run(main(parser.parse_args()))
