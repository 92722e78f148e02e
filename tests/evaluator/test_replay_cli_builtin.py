"""``judgeval eval run`` with built-in scorers (no sandbox needed): the scorer's config and a threshold
given on the command line, repeated records counted, and an unreachable evaluator as "could not run"."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin.evaluation_servicer import evaluation_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from tests.support.cli import run_cli

KEY = "replay-key"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    config = load_config(listen="127.0.0.1:0", data_dir=str(tmp_path / "data"), api_key=KEY, environ={})
    app: EvaluatorApp
    app = EvaluatorApp(config, service_installers=[evaluation_installer(lambda: app, KEY)])
    await app.start()
    yield {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": KEY}
    await app.stop(grace=1.0)


def records_file(tmp_path: Path) -> Path:
    answers = ["a refund is on its way", "no idea", "refund sent"]
    records = [InteractionRecord(scorer="refund_check", trace_id=f"{i:032x}", span_id=f"{i:016x}",
                                 at=float(i), example={"input": "money back?", "actual_output": text},
                                 threshold=0.5, score=0.0, passed=False)
               for i, text in enumerate(answers)]
    path = tmp_path / "records.jsonl"
    lines = [json.dumps(r.to_json()) for r in records]
    path.write_text("\n".join([*lines, lines[2]]) + "\n")  # the last record stored twice
    return path


async def test_a_builtin_by_type_with_its_options_and_a_threshold(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = records_file(tmp_path)
    args = ("eval", "run", "--records", str(path), "--scorer", "keyword", "--json", "--no-progress")
    refund = ("--scorer-config", '{"keywords": ["refund"]}')
    configured = await run_cli(*args, *refund, env=env)
    strict = await run_cli(*args, *refund, "--threshold", "1.5", env=env)
    unconfigured = await run_cli(*args, "--min-pass-rate", "0.5", env=env)
    bad_config = await run_cli(*args, "--scorer-config", "[1]", env=env)
    assert configured.code == 0, configured.stderr
    report = json.loads(configured.stdout)
    assert report["scorer"] == {"name": "keyword", "version": None, "source": "builtin"}
    assert (report["cases"], report["duplicates"], report["passed"], report["failed"]) == (3, 1, 2, 1)
    assert len(report["changed"]["fail_to_pass"]) == 2
    assert json.loads(strict.stdout)["passed"] == 0  # 1.0 misses a threshold of 1.5
    # without its options every case fails alone, listed; no case scored is below any threshold
    assert unconfigured.code == 3
    assert json.loads(unconfigured.stdout)["errors"] == 3
    assert "no case could be scored (3 errors" in unconfigured.stderr
    assert bad_config.code == 2 and "must be a JSON object" in bad_config.stderr


async def test_the_agent_runs_untraced_unless_the_environment_says_otherwise(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "env_agent.py").write_text(
        "import os\n\ndef answer(input):\n"
        "    return 'monitoring=' + os.environ.get('JUDGMENT_MONITORING', 'unset')\n")
    args = ("eval", "run", "--records", str(records_file(tmp_path)), "--scorer", "keyword", "--scorer-config",
            '{"keywords": ["monitoring=false"]}', "--agent", "env_agent:answer", "--json", "--no-progress")
    default = await run_cli(*args, env=env, cwd=tmp_path)
    chosen = await run_cli(*args, env={**env, "JUDGMENT_MONITORING": "true"}, cwd=tmp_path)
    assert default.code == 0 and json.loads(default.stdout)["pass_rate"] == 1.0, default.stderr
    assert chosen.code == 0 and json.loads(chosen.stdout)["pass_rate"] == 0.0, chosen.stderr


async def test_an_unreachable_evaluator_could_not_run(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await run_cli("eval", "run", "--records", str(records_file(tmp_path)), "--scorer", "keyword",
                           env={"JUDGMENT_API_URL": f"127.0.0.1:{port}", "JUDGMENT_API_KEY": KEY})
    assert result.code == 1, result
    assert f"cannot reach the evaluator at 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    missing_key = await run_cli("eval", "run", "--records", "x.jsonl", "--scorer", "keyword",
                                env={"JUDGMENT_API_URL": f"127.0.0.1:{port}"})
    assert missing_key.code == 2 and "no API key" in missing_key.stderr


async def test_the_production_scorer_options_are_the_default_and_must_agree(
    tmp_path: Path, env: dict[str, str]
) -> None:
    options = {"keywords": ["refund"]}
    records = [InteractionRecord(scorer="keyword", trace_id=f"{i:032x}", span_id=f"{i:016x}", at=float(i),
                                 example={"input": "money back?", "actual_output": text}, threshold=0.5,
                                 score=1.0, passed=True, scorer_config=options)
               for i, text in enumerate(["a refund is on its way", "refund sent"])]
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    args = ("eval", "run", "--records", str(path), "--scorer", "keyword", "--json", "--no-progress")
    recorded = await run_cli(*args, env=env)
    assert recorded.code == 0, recorded.stderr
    assert json.loads(recorded.stdout)["pass_rate"] == 1.0  # scored with the options production used
    mixed_records = [*records, InteractionRecord.from_json({**records[0].to_json(), "span_id": "f" * 16,
                                                           "scorer_config": {"keywords": ["other"]}})]
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in mixed_records))
    mixed = await run_cli(*args, env=env)
    assert mixed.code == 2 and "scored with 2 different scorer options" in mixed.stderr, mixed.stderr
    chosen = await run_cli(*args, "--scorer-config", json.dumps(options), env=env)
    assert chosen.code == 0, chosen.stderr
