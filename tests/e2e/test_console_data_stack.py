"""The console's data from a whole real stack: an unmodified OpenAI app under ``opentelemetry-instrument`` →
the real collector → the ``judgeval-evaluator`` process (YAML rules: one passing scorer, one failing) →
its shared state, read with the console's read API while the evaluator runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml
from judgeval import semconv

from evaluator_service.console.queries import ConsoleQueries, FailingFilter
from evaluator_service.console.views import FailingPage, Overview
from evaluator_service.state import open_shared_state
from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator
from tools.localstack.stack import JaegerInstance, start_collector

from .test_zero_code_rules import OPENTELEMETRY_INSTRUMENT, REQUESTS, SERVICE, run_app

NEVER_SAID = "zz-never-said-zz"
CONFIG = {
    "console_data": {"flush_interval_s": 0.2},
    "scorers": [{"name": "mentions-refund", "type": "keyword", "options": {"keywords": [NEVER_SAID]}}],
    "rules": [
        {"name": "mini-pii", "when": {semconv.GEN_AI_REQUEST_MODEL: "gpt-5-mini"}, "scorer": "pii",
         "threshold": 1.0},
        {"name": "nano-refund", "when": {semconv.GEN_AI_REQUEST_MODEL: "gpt-5-nano"},
         "scorer": "mentions-refund"},
    ],
}

pytestmark = pytest.mark.skipif(
    not OPENTELEMETRY_INSTRUMENT.exists(), reason="needs opentelemetry-instrument (the dev extra)"
)


async def console_reads(state_file: Path, timeout: float = 120) -> tuple[Overview, FailingPage]:
    """The last hour's overview and failing page, once every LLM span's result is in them."""
    state = open_shared_state(f"sqlite:///{state_file}")
    await state.open()
    try:
        queries = ConsoleQueries(state)
        deadline = time.monotonic() + timeout
        while True:
            now = time.time()
            overview = await queries.overview(now - 3600, now + 60, step_s=600)
            page = await queries.failing(FailingFilter(service=SERVICE))
            if overview.total.volume >= 2 * REQUESTS and len(page.items) >= REQUESTS:
                return overview, page
            if time.monotonic() > deadline:
                raise TimeoutError(f"console data incomplete: {overview.total}, {len(page.items)} failing")
            await asyncio.sleep(0.3)
    finally:
        await state.close()


@pytest.mark.timeout(600)
def test_an_apps_llm_spans_become_console_data_through_collector_and_evaluator(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> None:
    config = stack_env.work_dir / "evaluator.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    evaluator_endpoint = free_endpoint()
    with (
        start_collector(otel_binaries.otelcol, stack_env.work_dir / "otelcol", evaluator_endpoint,
                        jaeger.otlp_grpc_endpoint) as collector,
        start_evaluator(stack_env, evaluator_endpoint, collector.grpc_endpoint, "--config", str(config)),
    ):
        run_app(stack_env, collector.grpc_endpoint)
        overview, page = asyncio.run(console_reads(stack_env.work_dir / "evaluator-data" / "state.sqlite3"))

    totals = {s.name: s.total for s in overview.by_scorer}
    assert (totals["pii"].scores, totals["pii"].passes) == (REQUESTS, REQUESTS)
    assert (totals["mentions-refund"].scores, totals["mentions-refund"].failures) == (REQUESTS, REQUESTS)
    assert overview.total.errors == 0 and overview.not_evaluated == 0
    assert len(page.items) == REQUESTS
    for row in page.items:
        record = row.record
        assert (row.outcome, record.scorer, record.service, record.score) == (
            "failed", "mentions-refund", SERVICE, 0.0)
        assert record.example["actual_output"]  # what the model answered, read from the LLM span
        assert record.attributes[semconv.GEN_AI_REQUEST_MODEL] == "gpt-5-nano"
        assert len(record.trace_id) == 32 and len(record.span_id) == 16
