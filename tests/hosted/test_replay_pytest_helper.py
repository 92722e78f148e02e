"""``judgeval.evaluation``: the pytest helper a user's test suite calls, against a real evaluator with an
uploaded scorer in the real sandbox (the agent is a plain function of the test, sync or async)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from judgeval.evaluation import EvaluationError, EvaluationReport, assert_pass_rate, evaluate_dataset

from .admin_server import API_KEY
from .replay_evaluator import NAME, WRONG_TOPIC, production_records, replay_evaluator, upload, write_records

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")


def fixed_answer(request: str) -> str:
    return f"Your package ({request}) is on its way."


async def fixed_answer_async(request: str) -> dict[str, str]:
    await asyncio.sleep(0)
    return {"response": "The package arrives tomorrow."}


async def test_evaluate_dataset_and_assert_pass_rate_in_a_test_suite(tmp_path: Path, envs_dir: Path) -> None:
    records = production_records()
    async with replay_evaluator(tmp_path, envs_dir) as evaluator:
        await upload(evaluator, tmp_path, "PackageInquiryScorer")
        url = evaluator.env["JUDGMENT_API_URL"]

        def replay(agent: object = None, dataset: object = records) -> EvaluationReport:
            return evaluate_dataset(dataset, NAME, agent=agent, api_url=url, api_key=API_KEY)  # type: ignore[arg-type]

        # the client is synchronous (as in a user's plain test function): run it off the server's loop
        unchanged = await asyncio.to_thread(replay)
        fixed = await asyncio.to_thread(replay, fixed_answer)
        fixed_async = await asyncio.to_thread(replay, fixed_answer_async)
        from_file = await asyncio.to_thread(replay, None, write_records(tmp_path / "r.jsonl", records))
        with pytest.raises(EvaluationError, match="no API key"):
            evaluate_dataset(records, NAME, api_url=url, api_key="")
        path_as_str = str(write_records(tmp_path / "as-str.jsonl", records))
        with pytest.raises(EvaluationError, match=r"for the records file .* pass Path\("):
            await asyncio.to_thread(evaluate_dataset, path_as_str, NAME, api_url=url, api_key=API_KEY)
    assert unchanged.pass_rate == 0.4 and unchanged.fail_to_pass == []
    with pytest.raises(AssertionError) as failed:
        assert_pass_rate(unchanged, 0.9)
    message = str(failed.value)
    assert "pass rate below 90.0%" in message and "pass rate:  40.0%" in message
    assert records[2].trace_id in message  # the failing cases are listed for the developer

    for report in (fixed, fixed_async):
        assert_pass_rate(report, 0.9)
        assert report.pass_rate == 1.0 and report.baseline_pass_rate == 0.4
        assert [c.id for c in report.fail_to_pass] == [r.id for r in records if not r.passed]
        behavior = next(b for b in report.behaviors if b.behavior_id == WRONG_TOPIC)
        assert (behavior.cases, behavior.pass_rate, behavior.baseline_pass_rate) == (3, 1.0, 0.0)
    assert fixed.agent is not None and fixed.agent.endswith(":fixed_answer")
    assert fixed_async.cases[0].example["response"] == "The package arrives tomorrow."
    assert (from_file.pass_rate, from_file.source) == (0.4, str(tmp_path / "r.jsonl"))
