"""Labeling through the CLI against a running evaluator: examples scored by the real pipeline land in a
dataset; ``judgeval datasets label`` labels them interactively (answers piped to stdin) or from a file, and
``judgeval scorers calibration`` reports the judge's agreement and corrected failure rate."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin.calibration_servicer import calibration_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.calibration.monitor import CalibrationMonitor
from evaluator_service.state import SharedState, open_shared_state
from evaluator_service.state.dataset_labels import HumanLabel
from tests.behaviors.failing_spans import REFUND, SCORERS, no_refund_span, passing_span, scored
from tests.support.cli import CliResult
from tests.support.evaluator import export, running, wait_for
from tests.support.polling import eventually_async
from tests.support.spans import make_request

API_KEY = "calibration-test-key"
DATASET = "support"


async def run_cli(*args: str, env: dict[str, str], stdin: str = "") -> CliResult:
    """The installed ``judgeval`` console script with ``stdin`` piped in, as a person typing would."""
    script = Path(sys.executable).parent / "judgeval"
    base = {k: v for k, v in os.environ.items() if not k.startswith("JUDGMENT_")}
    process = await asyncio.create_subprocess_exec(
        str(script), *args, env=base | env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 120)
    assert process.returncode is not None
    return CliResult(process.returncode, out.decode(), err.decode())


@dataclass
class Labeling:
    app: EvaluatorApp
    state: SharedState
    env: dict[str, str]
    records: list[InteractionRecord]
    """The dataset's examples, oldest first: four the judge failed, then two it passed."""


@pytest.fixture
async def labeling(make_config, receiver) -> AsyncIterator[Labeling]:  # type: ignore[no-untyped-def]
    config = make_config({"scorers": SCORERS, "calibration": {"min_labels": 2, "refresh": "200ms"}})
    state = open_shared_state(config.state_db_url)
    monitor = CalibrationMonitor(config.calibration, state=state)
    async with running(config, shared_state=state, calibration=monitor,
                       service_installers=[calibration_installer(state, monitor, API_KEY)]) as app:
        pending: list[asyncio.Task[Any]] = []

        def keep(records: Sequence[InteractionRecord]) -> None:  # a dataset rule keeping every result
            pending.append(asyncio.get_running_loop().create_task(
                state.add_dataset_examples(DATASET, list(records), records[0].at)))

        app.interactions.sinks.append(keep)
        spans = [no_refund_span(n) for n in range(4)] + [passing_span(n) for n in range(2)]
        for count, span in enumerate(spans, start=1):  # one at a time: dataset order is scoring order
            await export(app, make_request([span]))
            await wait_for(receiver, scored(count))
            await eventually_async(lambda n=count: len(pending) == n and pending[-1].done(),  # type: ignore[misc]
                                   "the dataset sink did not run")
        page = await state.dataset_examples(DATASET)
        records = sorted((e.record for e in page.examples), key=lambda r: r.at)
        assert [r.passed for r in records] == [False] * 4 + [True] * 2
        env = {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
        yield Labeling(app, state, env, records)


async def test_interactive_labeling_with_piped_answers(labeling: Labeling) -> None:
    first = labeling.records[0]
    typed = "f never offers a refund\nmaybe\np\ns\nq\n"
    result = await run_cli("datasets", "label", DATASET, "--labeler", "ann", env=labeling.env, stdin=typed)
    assert result.code == 0, result.stderr
    out = result.stdout
    assert f"Dataset {DATASET!r}: 6 unlabeled, 0 labeled; labeling 6." in out
    assert f"[1/6] scorer {REFUND}  trace {first.trace_id}  span {first.span_id}  service agent" in out
    assert "input:   My order is late, I want my money back" in out
    assert "output:  Sorry, your order is delayed" in out
    assert "judge:   FAIL (score 0, threshold 0.5)" in out
    assert "'maybe' is not an answer" in out and "[4/6]" in out and "[5/6]" not in out
    assert "Labeled 2 (1 fail, 1 pass), skipped 1." in out
    stored = await labeling.state.dataset_labels(DATASET)
    assert [(x.record_id, x.label, x.judge_passed, x.labeler, x.note) for x in stored] == [
        (first.id, HumanLabel.FAIL, False, "ann", "never offers a refund"),
        (labeling.records[1].id, HumanLabel.PASS, False, "ann", "")]

    # a random sample of what is still unlabeled; a closed stdin ends the session like `q`
    sampled = await run_cli("datasets", "label", DATASET, "--sample", "2", env=labeling.env, stdin="p\n")
    assert sampled.code == 0 and "4 unlabeled, 2 labeled; labeling 2." in sampled.stdout
    assert "[2/2]" in sampled.stdout and "Labeled 1 (0 fail, 1 pass), skipped 0." in sampled.stdout
    assert len(await labeling.state.dataset_labels(DATASET)) == 3

    unknown = await run_cli("datasets", "label", "nope", env=labeling.env, stdin="q\n")
    assert unknown.code == 1 and unknown.stderr == "judgeval: error: no dataset named 'nope'\n"


async def test_labels_from_files_then_the_judges_calibration(labeling: Labeling, tmp_path: Path) -> None:
    r = labeling.records
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("record_id,label,note\n" + "".join(
        f"{x.id},{label},\n" for x, label in zip(r[:4], ["fail", "fail", "fail", "pass"], strict=True)))
    jsonl = tmp_path / "labels.jsonl"  # an export's lines with a label added: `id` is accepted
    jsonl.write_text("".join(json.dumps({**x.to_json(), "label": "pass"}) + "\n" for x in r[4:]) +
                     json.dumps({"record_id": "0" * 32 + ":" + "0" * 16 + ":x", "label": "fail"}) + "\n")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"record_id": r[0].id, "label": "bad"}) + "\n{oops\n")

    refused = await run_cli("datasets", "label", DATASET, "--from-file", str(broken), env=labeling.env)
    assert refused.code == 2 and "Traceback" not in refused.stderr
    assert refused.stderr == (f"judgeval: error: labels file {broken}: line 1: label must be pass or fail, "
                              "got 'bad'; line 2: not JSON (Expecting property name enclosed in double "
                              "quotes); nothing was sent\n")
    assert await labeling.state.dataset_labels(DATASET) == []

    from_csv = await run_cli("datasets", "label", DATASET, "--from-file", str(csv_file), env=labeling.env)
    assert (from_csv.code, from_csv.stdout) == (0, "Stored 4 of 4 labels.\n")
    from_jsonl = await run_cli("datasets", "label", DATASET, "--from-file", str(jsonl), env=labeling.env)
    assert from_jsonl.code == 1 and from_jsonl.stdout == "Stored 2 of 3 labels.\n"
    assert "refused label for " + "0" * 32 in from_jsonl.stderr
    assert "no such example in the dataset's current version" in from_jsonl.stderr

    # people: 3 fail + 3 pass; the judge failed all four no-refund answers -> Se 3/3, Sp 2/3.
    # observed 4 of 6 failed; corrected (4/6 + 2/3 - 1) / (1 + 2/3 - 1) = 0.5
    await eventually_async(lambda: labeling.app.calibration.latest().get(REFUND) is not None
                           and labeling.app.calibration.latest()[REFUND].rate.scores == 6,
                           "the calibration monitor did not flush", 20)
    shown = await run_cli("scorers", "calibration", REFUND, "--json", env=labeling.env)
    assert shown.code == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert (report["true_positives"], report["false_negatives"], report["true_negatives"],
            report["false_positives"]) == (3, 0, 2, 1)
    assert report["sensitivity"]["estimate"] == 1.0
    assert report["specificity"]["estimate"] == pytest.approx(2 / 3)
    assert (report["scores"], report["failures"]) == (6, 4)
    assert report["corrected_failure_rate"] == pytest.approx(0.5) and report["refused"] is None
    assert report["corrected_low"] <= 0.5 <= report["corrected_high"] and report["positive"] == "failure"
    text = (await run_cli("scorers", "calibration", REFUND, "--dataset", DATASET, "--window", "2h",
                          env=labeling.env)).stdout
    assert "positive:                failure" in text and "window:                  7200s: 6 scores" in text
    assert "true-positive rate:      1.000  [" in text and "corrected failure rate:  0.500  [" in text
    listed = await run_cli("scorers", "calibration", "nobody", env=labeling.env)
    assert "corrected failure rate:  not given: no scores in the window" in listed.stdout
    bad_window = await run_cli("scorers", "calibration", REFUND, "--window", "soon", env=labeling.env)
    assert bad_window.code == 2 and "--window: expected a duration" in bad_window.stderr
    too_long = await run_cli("scorers", "calibration", REFUND, "--window", "30d", env=labeling.env)
    assert too_long.code == 1 and "outcome counts are kept 7 days" in too_long.stderr
