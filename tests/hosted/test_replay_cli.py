"""``judgeval eval run`` end to end: the console script in a subprocess, a real evaluator, scorers uploaded
with the CLI and run in the real sandbox, a fixed agent re-run locally, production records as a dataset
export (JSON Lines)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from judgeval.testing import RecordedOpenAIServer, Recording

from tests.support.cli import run_cli

from .admin_server import DOCS_REQUIREMENTS, DOCS_SCORER, SCORERS
from .replay_evaluator import (
    FIXED_AGENT,
    NAME,
    WRONG_TOPIC,
    production_records,
    record,
    replay_evaluator,
    upload,
    write_records,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")


async def test_a_fixed_agent_raises_the_pass_rate_and_lists_the_fixed_cases(
    tmp_path: Path, envs_dir: Path
) -> None:
    records = write_records(tmp_path / "failing.jsonl", production_records())
    (tmp_path / "support_agent.py").write_text(FIXED_AGENT)
    async with replay_evaluator(tmp_path, envs_dir) as evaluator:
        await upload(evaluator, tmp_path, "PackageInquiryScorer")
        as_stored = await run_cli("eval", "run", "--records", str(records), "--scorer", NAME, "--json",
                                  env=evaluator.env)
        fixed = await run_cli("eval", "run", "--records", str(records), "--scorer", NAME, "--agent",
                              "support_agent:answer", "--min-pass-rate", "0.9", "--json",
                              env=evaluator.env, cwd=tmp_path)
        table = await run_cli("eval", "run", "--records", str(records), "--scorer", NAME, "--agent",
                              "support_agent:answer", env=evaluator.env, cwd=tmp_path)
    assert as_stored.code == 0, as_stored.stderr
    unchanged = json.loads(as_stored.stdout)
    assert (unchanged["pass_rate"], unchanged["baseline_pass_rate"]) == (0.4, 0.4)
    assert unchanged["changed"] == {"pass_to_fail": [], "fail_to_pass": [], "score_deltas": []}

    assert fixed.code == 0, fixed.stderr
    report = json.loads(fixed.stdout)
    assert report["scorer"] == {"name": NAME, "version": 1, "source": "uploaded"}
    assert report["agent"] == "support_agent:answer"
    rates = (report["pass_rate"], report["baseline_pass_rate"], report["below_min_pass_rate"])
    assert rates == (1.0, 0.4, False)
    failing_ids = [r.id for r in production_records() if not r.passed]
    assert report["changed"]["fail_to_pass"] == failing_ids
    assert report["changed"]["pass_to_fail"] == []
    assert [d["delta"] for d in report["changed"]["score_deltas"]] == [1.0, 1.0, 1.0]
    behaviors = {b["behavior_id"]: b for b in report["behaviors"]}
    assert behaviors[WRONG_TOPIC]["pass_rate"] == 1.0 and behaviors[WRONG_TOPIC]["baseline_pass_rate"] == 0.0
    assert behaviors[None]["cases"] == 2
    scored = {r["id"]: r for r in report["results"]}
    assert "ships today" in scored[failing_ids[0]]["example"]["response"]
    assert scored[failing_ids[0]]["reason"] == "addresses the package"

    assert table.code == 0, table.stderr
    assert "pass rate:  100.0%" in table.stdout and "production: 40.0%" in table.stdout
    assert "Was fail, now pass (3):" in table.stdout
    assert production_records()[2].trace_id in table.stdout
    assert WRONG_TOPIC in table.stdout
    assert "re-running agent" in table.stderr and "scoring" in table.stderr  # both progress bars
    assert "5/5" in table.stderr


async def test_a_broken_scorer_version_is_caught_with_the_changed_cases(
    tmp_path: Path, envs_dir: Path
) -> None:
    records = write_records(tmp_path / "week.jsonl", production_records())
    async with replay_evaluator(tmp_path, envs_dir) as evaluator:
        await upload(evaluator, tmp_path, "PackageInquiryScorer")
        await upload(evaluator, tmp_path, "BrokenPackageInquiryScorer", "--new-version")
        latest = await run_cli("eval", "run", "--records", str(records), "--scorer", NAME,
                               "--min-pass-rate", "0.3", "--json", env=evaluator.env)
        pinned = await run_cli("eval", "run", "--records", str(records), "--scorer", f"{NAME}@1",
                               "--min-pass-rate", "0.3", "--json", "--no-progress", env=evaluator.env)
        table = await run_cli("eval", "run", "--records", str(records), "--scorer", f"{NAME}@2",
                              "--min-pass-rate", "0.3", env=evaluator.env)
    assert latest.code == 3, latest.stderr
    assert "pass rate 0.0% is below --min-pass-rate 30.0%" in latest.stderr
    broken = json.loads(latest.stdout)
    assert broken["scorer"]["version"] == 2 and broken["below_min_pass_rate"] is True
    passing_ids = [r.id for r in production_records() if r.passed]
    assert broken["changed"]["pass_to_fail"] == passing_ids
    assert broken["changed"]["fail_to_pass"] == []

    assert pinned.code == 0, pinned.stderr
    assert json.loads(pinned.stdout)["scorer"]["version"] == 1
    assert pinned.stderr == ""  # --no-progress

    assert table.code == 3
    assert "Was pass, now fail (2):" in table.stdout
    assert production_records()[1].trace_id in table.stdout
    assert "BELOW the minimum pass rate" in table.stdout


async def test_scoring_and_agent_errors_are_counted_and_listed_never_abort_the_run(
    tmp_path: Path, envs_dir: Path
) -> None:
    crashing = record(6, "Package?", "CRASH", False)
    trajectory = record(7, "", "", True, scope="trace")
    records = write_records(tmp_path / "mixed.jsonl", [*production_records(), crashing, trajectory])
    (tmp_path / "picky_agent.py").write_text(
        "async def answer(request):\n"
        "    if 'parcel' in request:\n"
        "        raise ValueError('unknown parcel id')\n"
        "    return 'CRASH' if request == 'Package?' else 'your package is on its way'\n")
    async with replay_evaluator(tmp_path, envs_dir) as evaluator:
        await upload(evaluator, tmp_path, "PackageInquiryScorer")
        result = await run_cli("eval", "run", "--records", str(records), "--scorer", NAME, "--agent",
                               "picky_agent:answer", "--json", env=evaluator.env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["cases"], report["scored"], report["errors"], report["pass_rate"]) == (7, 4, 3, 1.0)
    errors = {e["id"]: e for e in report["error_cases"]}
    assert errors[crashing.id]["error_kind"] == "scorer_error"
    assert "cannot read this answer" in errors[crashing.id]["reason"]
    assert errors[trajectory.id]["error_kind"] == "not_replayable"
    parcel = production_records()[3].id
    assert errors[parcel] == {"id": parcel, "error_kind": "agent_error",
                              "reason": "the agent raised ValueError: unknown parcel id"}


async def test_exit_codes_say_could_not_run_apart_from_bad_input(tmp_path: Path, envs_dir: Path) -> None:
    records = write_records(tmp_path / "r.jsonl", production_records())
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(production_records()[0].to_json()) + "\n{\"scorer\": 3}\n")
    async with replay_evaluator(tmp_path, envs_dir) as evaluator:
        await upload(evaluator, tmp_path, "PackageInquiryScorer")
        unknown = await run_cli("eval", "run", "--records", str(records), "--scorer", "No Such Scorer",
                                env=evaluator.env)
        no_version = await run_cli("eval", "run", "--records", str(records), "--scorer", f"{NAME}@7",
                                   env=evaluator.env)
        malformed = await run_cli("eval", "run", "--records", str(bad), "--scorer", NAME, env=evaluator.env)
        no_agent = await run_cli("eval", "run", "--records", str(records), "--scorer", NAME,
                                 "--agent", "nowhere:answer", env=evaluator.env, cwd=tmp_path)
        wrong_key = await run_cli("eval", "run", "--records", str(records), "--scorer", NAME,
                                  env={**evaluator.env, "JUDGMENT_API_KEY": "wrong"})
        requirements = tmp_path / "empty-requirements.txt"
        requirements.write_text("")
        uploaded = await run_cli("upload_scorer", str(SCORERS / "trace_scorers.py"), str(requirements),
                                 "--class", "ToolLoopScorer", env=evaluator.env)
        assert uploaded.code == 0, uploaded.stderr
        trace_scorer = await run_cli("eval", "run", "--records", str(records), "--scorer", "Tool Loop Scorer",
                                     env=evaluator.env)
    for result, code, fragment in (
        (unknown, 1, "no scorer named 'No Such Scorer'"),
        (no_version, 1, "has no version 7 (latest is 1)"),
        (malformed, 2, f"{bad}:2: not an interaction record"),
        (no_agent, 2, "cannot import agent module 'nowhere'"),
        (wrong_key, 1, "rejected the API key"),
        (trace_scorer, 1, "is an uploaded TraceScorer: replaying trajectories is not supported"),
    ):
        assert result.code == code, result
        assert fragment in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


async def test_a_stored_dataset_replays_by_name_and_pinned_version(tmp_path: Path, envs_dir: Path) -> None:
    (tmp_path / "support_agent.py").write_text(FIXED_AGENT)
    failing = [r for r in production_records() if not r.passed]
    async with replay_evaluator(tmp_path, envs_dir) as evaluator:
        await upload(evaluator, tmp_path, "PackageInquiryScorer")
        await evaluator.state.add_dataset_examples("failing-package-inquiries", failing[:2], now=1.0)
        await evaluator.state.add_dataset_examples("failing-package-inquiries", failing[2:], now=2.0)
        current = await run_cli("eval", "run", "--dataset", "failing-package-inquiries", "--scorer", NAME,
                                "--agent", "support_agent:answer", "--json", env=evaluator.env, cwd=tmp_path)
        first = await run_cli("eval", "run", "--dataset", "failing-package-inquiries@1", "--scorer", NAME,
                              "--limit", "1", "--min-pass-rate", "0.5", "--json", env=evaluator.env)
        missing = await run_cli("eval", "run", "--dataset", "nothing-here", "--scorer", NAME,
                                env=evaluator.env)
        malformed = await run_cli("eval", "run", "--dataset", "two words", "--scorer", NAME,
                                  env=evaluator.env)
    assert current.code == 0, current.stderr
    report = json.loads(current.stdout)
    assert report["source"] == "dataset failing-package-inquiries@2"
    assert (report["cases"], report["pass_rate"], report["baseline_pass_rate"]) == (3, 1.0, 0.0)
    assert report["changed"]["fail_to_pass"] == [r.id for r in failing]
    assert first.code == 3, first.stderr  # the stored answer still fails
    pinned = json.loads(first.stdout)
    assert (pinned["source"], pinned["cases"], pinned["pass_rate"]) == (
        "dataset failing-package-inquiries@1", 1, 0.0)
    assert missing.code == 1 and "no dataset named 'nothing-here'" in missing.stderr
    assert malformed.code == 2 and "invalid dataset name" in malformed.stderr


async def test_the_docs_llm_judge_scorer_replays_through_the_sandbox_egress(
    tmp_path: Path, envs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judge = RecordedOpenAIServer([
        Recording(match=["Does the response address package-related concerns", "About your package"],
                  answer="YES"),
        Recording(match=["Does the response address package-related concerns"], answer="NO"),
    ])
    (tmp_path / "support_agent.py").write_text(FIXED_AGENT)
    records = write_records(tmp_path / "failing.jsonl", [r for r in production_records() if not r.passed])
    with judge:
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-recorded")
        async with replay_evaluator(tmp_path, envs_dir) as evaluator:
            requirements = tmp_path / "docs-requirements.txt"
            requirements.write_text(DOCS_REQUIREMENTS)
            uploaded = await run_cli("upload_scorer", str(DOCS_SCORER), str(requirements), env=evaluator.env)
            assert uploaded.code == 0, uploaded.stderr
            result = await run_cli("eval", "run", "--records", str(records), "--scorer", NAME, "--agent",
                                   "support_agent:answer", "--min-pass-rate", "1", "--json",
                                   env=evaluator.env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["pass_rate"], report["baseline_pass_rate"], len(report["changed"]["fail_to_pass"])) == (
        1.0, 0.0, 3)
    assert "appropriately addresses" in report["results"][0]["reason"]
    prompts = [m["content"] for body in judge.requests for m in body.get("messages", [])]
    assert sum("About your package" in p for p in prompts) == 3  # the agent's new answers were judged
