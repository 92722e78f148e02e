"""What scoring one trajectory costs the evaluator, by trajectory size: each deterministic built-in, the
agent judge's rendering (and its size), the JSON a sandboxed trace scorer is sent, and (as root, with
``--sandbox``) the round trip of an uploaded trace scorer in a real sandbox worker.

Trajectories alternate LLM calls and tool calls (about 1 KB of input and output each) under one agent span.

    .venv/bin/python benchmarks/trajectory_scorers_bench.py [--sandbox]
    # writes results/trajectory_scorers.{json,md}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_common import BENCH_DIR, machine, write_results
from judgeval import semconv
from judgeval.data.trace import Trace, TraceSpan
from judgeval.protocol.evaluation_request import ScorerRef
from judgeval.protocol.trajectory_request import TrajectoryRequest

from evaluator_service.scoring.settings import JudgeConfig
from evaluator_service.scoring.trajectory.catalog import TrajectoryScorers
from evaluator_service.scoring.trajectory.rendering import render_trajectory

SIZES = (100, 1_000, 10_000)
OPTIONS = {"tool_loop": {}, "tool_error_rate": {}, "step_budget": {"max_steps": 10**9},
           "llm_call_budget": {"max_llm_calls": 10**9}, "latency_budget": {"max_seconds": 10**6},
           "token_budget": {"max_tokens": 10**12}}


def trajectory(spans: int) -> Trace:
    root = TraceSpan(span_id="0" * 15 + "1", trace_id="ab" * 16, span_name="agent", span_kind="agent",
                     start_time_unix_nano=1, end_time_unix_nano=10**12, inputs="task", output="done")
    steps = []
    for index in range(spans - 1):
        llm = index % 2 == 0
        usage = {semconv.GEN_AI_USAGE_INPUT_TOKENS: 300, semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 40}
        attributes: dict[str, Any] = usage if llm else {semconv.GEN_AI_TOOL_NAME: f"tool_{index % 7}"}
        steps.append(TraceSpan(
            span_id=f"{index + 2:016x}", trace_id="ab" * 16, span_name="chat" if llm else f"tool_{index % 7}",
            parent_span_id=root.span_id, span_kind="llm" if llm else "tool", start_time_unix_nano=index + 2,
            end_time_unix_nano=index + 3, span_attributes=attributes, inputs={"q": "x" * 500, "i": index},
            output="y" * 500))
    return Trace.of([root, *steps], bounding_span_id=root.span_id)


def median_ms(runs: list[float]) -> float:
    return round(statistics.median(runs) * 1000, 3)


async def timed(work: Any, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        runs.append(time.perf_counter() - started)
    return median_ms(runs)


async def in_process(trace: Trace, repeat: int) -> dict[str, Any]:
    scorers = TrajectoryScorers([], JudgeConfig())
    row: dict[str, Any] = {}
    for name, options in OPTIONS.items():
        request = TrajectoryRequest(ScorerRef(name=name, config=options))
        scorer = scorers.resolve(request.scorer)
        assert scorer is not None
        row[name] = await timed(lambda s=scorer, r=request: s.score_trajectory(trace, r), repeat)

    async def render() -> None:
        render_trajectory(trace)

    row["render"] = await timed(render, repeat)
    row["render_chars"] = len(render_trajectory(trace))
    row["json_bytes"] = len(json.dumps(trace.to_json_data(), separators=(",", ":")).encode())
    return row


async def sandboxed(traces: dict[int, Trace], repeat: int) -> dict[int, float]:
    from evaluator_service.registry import EnvironmentInstaller, Registry
    from evaluator_service.sandbox import SandboxConfig, SandboxPool, UploadedScorerSource
    from evaluator_service.sandbox.uploaded_trace_source import UploadedTraceScorerSource

    scorer_file = BENCH_DIR / "trace_scorer" / "bench_trace_scorer.py"
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp) / "data", installer=EnvironmentInstaller(Path(tmp) / "envs"))
        pool = SandboxPool(SandboxConfig(workers_per_scorer=1))
        try:
            await registry.upload(name="", source=scorer_file.read_text(), source_filename=scorer_file.name,
                                  requirements="")
            source = UploadedTraceScorerSource(UploadedScorerSource(registry, pool))
            request = TrajectoryRequest(ScorerRef(name="Bench Trace Scorer"))
            scorer = source.resolve(request.scorer)
            assert scorer is not None
            await scorer.score_trajectory(traces[SIZES[0]], request)  # starts the worker
            return {size: await timed(lambda t=trace: scorer.score_trajectory(t, request), repeat)
                    for size, trace in traces.items()}
        finally:
            await pool.close()
            await registry.close()


def report(rows: dict[int, dict[str, Any]]) -> str:
    columns = [*OPTIONS, "render", "render_chars", "json_bytes", "sandbox"]
    lines = ["| spans | " + " | ".join(columns) + " |", "|---:|" + "---:|" * len(columns)]
    for size, row in rows.items():
        lines.append(f"| {size:,} | " + " | ".join(str(row.get(c, "—")) for c in columns) + " |")
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", action="store_true", help="also time an uploaded trace scorer (root)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    traces = {size: trajectory(size) for size in SIZES}
    rows = {size: await in_process(trace, args.repeat) for size, trace in traces.items()}
    if args.sandbox:
        for size, ms in (await sandboxed(traces, args.repeat)).items():
            rows[size]["sandbox"] = ms
    markdown = f"Machine: {machine()}\n\nMedian milliseconds per trajectory:\n\n{report(rows)}"
    write_results("trajectory_scorers", {"machine": machine(), "rows": rows}, markdown)
    print(markdown)


if __name__ == "__main__":
    asyncio.run(main())
