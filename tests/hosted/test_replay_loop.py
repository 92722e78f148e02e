"""The whole improvement loop with real components: spans asking for the uploaded scorer arrive over OTLP,
the evaluator scores them in the sandbox, a ``datasets:`` rule keeps the failing ones, and ``judgeval eval
run --dataset`` replays exactly those with the fixed agent — the failures are fixed before shipping."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from judgeval.testing.otlp_receiver import OtlpTraceReceiver

from tests.support.cli import run_cli
from tests.support.evaluator import export, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

from .replay_evaluator import FIXED_AGENT, NAME, replay_evaluator, upload

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")
CONVERSATIONS = [
    ("Where is my package?", "Your package left the depot today."),
    ("My package is late", "Please try turning it off and on again."),
    ("Where is parcel 42?", "We sell many fine products."),
    ("Has my package shipped?", "Yes, the package shipped on Monday."),
]


async def test_failing_production_spans_become_a_dataset_the_fixed_agent_passes(
    tmp_path: Path, envs_dir: Path
) -> None:
    config = tmp_path / "evaluator.yaml"
    config.write_text(yaml.safe_dump({"behaviors": {"enabled": False}, "datasets": {"rules": [
        {"dataset": "failing-package-inquiries", "scorers": [NAME], "outcome": "failed"}]}}))
    (tmp_path / "support_agent.py").write_text(FIXED_AGENT)
    spans = [make_span("answer", tagged_attributes((NAME, {"request": q, "response": a})))
             for q, a in CONVERSATIONS]
    with OtlpTraceReceiver() as downstream:
        async with replay_evaluator(tmp_path, envs_dir, str(config), downstream.endpoint) as evaluator:
            await upload(evaluator, tmp_path, "PackageInquiryScorer")
            await export(evaluator.app, make_request(spans, service="support-bot"))
            await wait_for(downstream, lambda received: len(received) == len(spans), timeout=60)
            assert evaluator.app.datasets is not None
            await evaluator.app.datasets.flush()
            replay = await run_cli("eval", "run", "--dataset", "failing-package-inquiries", "--scorer", NAME,
                                   "--agent", "support_agent:answer", "--min-pass-rate", "1", "--json",
                                   env=evaluator.env, cwd=tmp_path)
    assert replay.code == 0, replay.stderr
    report = json.loads(replay.stdout)
    failing = {(spans[i].trace_id.hex(), spans[i].span_id.hex()) for i in (1, 2)}
    assert {(r["trace_id"], r["span_id"]) for r in report["results"]} == failing
    assert (report["source"], report["pass_rate"], report["baseline_pass_rate"]) == (
        "dataset failing-package-inquiries@1", 1.0, 0.0)
    assert len(report["changed"]["fail_to_pass"]) == 2
    assert all(r["example"]["response"].startswith("About your package") for r in report["results"])
