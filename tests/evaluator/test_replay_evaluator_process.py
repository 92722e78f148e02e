"""``judgeval eval run`` against the real ``judgeval-evaluator`` process, as an operator runs it: the
Evaluation API is served next to the other admin services, reads datasets from the evaluator's own state
database, and scores with its configured scorers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.state import SqliteSharedState
from tests.support.cli import run_cli

KEY = "operator-key"
REFUND = {"name": "refund_mentioned", "type": "keyword", "options": {"keywords": ["refund"]}}


def record(index: int, answer: str, passed: bool) -> InteractionRecord:
    return InteractionRecord(scorer="refund_mentioned", trace_id=f"{index:032x}", span_id=f"{index:016x}",
                             at=float(index), example={"input": "money back?", "actual_output": answer},
                             threshold=0.5, score=float(passed), passed=passed)


async def stored_dataset(data_dir: Path) -> None:
    """What the evaluator's dataset rules would have stored (the default state database of the data dir)."""
    data_dir.mkdir(parents=True)
    state = SqliteSharedState(data_dir / "state.sqlite3")
    await state.open()
    await state.add_dataset_examples("refunds", [record(1, "a refund is coming", True),
                                                 record(2, "no idea", False)], now=1.0)
    await state.close()


async def test_the_evaluator_process_serves_replays_of_its_datasets(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await stored_dataset(data_dir)
    config = tmp_path / "evaluator.yaml"
    # isolation none: no uploads are replayed here, so no root-only sandbox is needed to start with a key
    config.write_text(yaml.safe_dump({"scorers": [REFUND], "sandbox": {"isolation": "none",
                                                                       "network": "host"}}))
    ours = ("JUDGEVAL_EVALUATOR_", "OTEL_", "JUDGMENT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    command = [sys.executable, "-m", "evaluator_service", "--listen", "127.0.0.1:0", "--data-dir",
               str(data_dir), "--config", str(config), "--api-key", KEY]
    with (tmp_path / "stderr.log").open("w") as stderr, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            line = await asyncio.to_thread(process.stdout.readline)
            assert line.startswith("judgeval-evaluator listening on 127.0.0.1:"), line
            cli_env = {"JUDGMENT_API_URL": line.strip().rsplit(" ", 1)[1], "JUDGMENT_API_KEY": KEY}
            replay = await run_cli("eval", "run", "--dataset", "refunds", "--scorer", "refund_mentioned",
                                   "--json", "--no-progress", env=cli_env)
            wrong_key = await run_cli("eval", "run", "--dataset", "refunds", "--scorer", "refund_mentioned",
                                      env={**cli_env, "JUDGMENT_API_KEY": "guess"})
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert replay.code == 0, replay.stderr
    report = json.loads(replay.stdout)
    assert (report["source"], report["scorer"]["source"]) == ("dataset refunds@1", "builtin")
    assert (report["pass_rate"], report["baseline_pass_rate"], report["changed"]["pass_to_fail"]) == (
        0.5, 0.5, [])
    assert wrong_key.code == 1 and "rejected the API key" in wrong_key.stderr
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()
