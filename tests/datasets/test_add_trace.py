"""``judgeval datasets add NAME --trace ID`` against the real Jaeger: the evaluator scores spans and exports
them enriched to Jaeger; adding a trace by id reads it back from Jaeger's query API and rebuilds the same
records the rule collected live (example from the request payload, score, reason, threshold, service)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from judgeval.dataset import Dataset

from evaluator_service.admin.datasets_servicer import datasets_installer
from evaluator_service.config import load_config
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.datasets.trace_records import jaeger_trace_records
from evaluator_service.state import open_shared_state
from tests.support.cli import run_cli
from tests.support.evaluator import FAST_RETRIES, export, running, wait_drained
from tests.support.polling import eventually_async
from tests.support.spans import make_request, make_span, tagged_attributes
from tools.localstack.stack import JaegerInstance

API_KEY = "trace-key"
SCORERS = [{"name": "Polite", "type": "regex", "options": {"pattern": "please"}},
           {"name": "Short", "type": "regex", "options": {"pattern": "^.{0,12}$"}}]


@pytest.mark.timeout(300)
async def test_a_traces_records_are_rebuilt_from_jaeger(jaeger: JaegerInstance, tmp_path: Path) -> None:
    config_file = tmp_path / "evaluator.yaml"
    config_file.write_text(yaml.safe_dump({
        **FAST_RETRIES, "scorers": SCORERS, "behaviors": {"enabled": False},
        "datasets": {"rules": [{"dataset": "live", "outcome": "any"}]}}))
    config = load_config(listen="127.0.0.1:0", export_endpoint=jaeger.otlp_grpc_endpoint,
                         data_dir=str(tmp_path / "data"), config_file=str(config_file),
                         environ=dict(os.environ))
    state = open_shared_state(config.state_db_url)
    installer = datasets_installer(state, API_KEY, Redactor.of(config.datasets),
                                   trace_records=jaeger_trace_records(jaeger.query_url))
    scored = make_span("answer", {**tagged_attributes(
        ("Polite", {"input": "where is my parcel? mail me at a@b.io", "actual_output": "go away"}),
        ("Short", {"actual_output": "go away"})), "gen_ai.request.model": "gpt-test"})
    other = make_span("answer", tagged_attributes(("Polite", {"actual_output": "please wait"})))
    async with running(config, shared_state=state, service_installers=[installer]) as app:
        env = {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
        await export(app, make_request([scored, other], service="support"))
        await wait_drained(app)
        assert app.datasets is not None
        await app.datasets.flush()
        trace_id = scored.trace_id.hex()

        def in_jaeger() -> bool:  # Jaeger is its own process: a short blocking query is fine
            return any(s.span_id == scored.span_id.hex() for s in jaeger.query.trace(trace_id))

        await eventually_async(in_jaeger, "the enriched span in Jaeger", 30)
        added = await run_cli("datasets", "add", "picked", "--trace", trace_id, env=env)
        assert added.code == 0, added.stderr
        assert added.stdout.strip() == f"Added 2 records of trace {trace_id} to picked (0 already there), " \
                                       "now version 1"
        again = await run_cli("datasets", "add", "picked", "--trace", trace_id, env=env)
        assert "Added 0 records" in again.stdout and "(2 already there)" in again.stdout
        missing = await run_cli("datasets", "add", "picked", "--trace", "ab" * 16, env=env)
        assert missing.code == 1 and f"has no trace {'ab' * 16}" in missing.stderr
        await run_cli("datasets", "export", "picked", "-o", str(tmp_path / "picked.jsonl"), env=env)
        await run_cli("datasets", "export", "live", "-o", str(tmp_path / "live.jsonl"), env=env)
    await state.close()
    picked = {r.id: r for r in Dataset.from_file(tmp_path / "picked.jsonl").records}
    live = {r.id: r for r in Dataset.from_file(tmp_path / "live.jsonl").records if r.trace_id == trace_id}
    assert set(picked) == set(live) and len(picked) == 2
    for rid, rebuilt in picked.items():
        kept = live[rid]
        same = ("scorer", "trace_id", "span_id", "example", "threshold", "score", "passed", "reason",
                "service", "attributes")
        assert {f: getattr(rebuilt, f) for f in same} == {f: getattr(kept, f) for f in same}
    polite = next(r for r in picked.values() if r.scorer == "Polite")
    assert polite.example["input"] == "where is my parcel? mail me at [REDACTED:email]"
    assert polite.passed is False and polite.attributes == {"gen_ai.request.model": "gpt-test"}


async def test_unreachable_jaeger_is_unavailable_with_its_url(make_config, tmp_path: Path) -> None:
    config = make_config()
    state = open_shared_state(config.state_db_url)
    installer = datasets_installer(state, API_KEY, Redactor.of(config.datasets),
                                   trace_records=jaeger_trace_records("http://127.0.0.1:1", timeout_s=2))
    async with running(config, shared_state=state, service_installers=[installer]) as app:
        env = {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
        result = await run_cli("datasets", "add", "picked", "--trace", "ab" * 16, env=env)
    await state.close()
    assert result.code == 1 and "http://127.0.0.1:1" in result.stderr and "Traceback" not in result.stderr
