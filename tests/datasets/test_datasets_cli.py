"""``judgeval datasets`` against a running evaluator filled by a rule: tables, NAME@V, export/import round
trips in jsonl, csv and parquet, removal as a new version, and clear errors without tracebacks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from judgeval.dataset import Dataset
from judgeval.protocol.interaction_record import InteractionRecord

from evaluator_service.admin.datasets_servicer import datasets_installer
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig
from evaluator_service.datasets.redaction import Redactor
from evaluator_service.state import open_shared_state
from tests.support.cli import CliResult, run_cli
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

API_KEY = "datasets-admin-key"
POLITE = {"name": "Polite", "type": "regex", "options": {"pattern": "please"}}


@pytest.fixture
async def evaluator(make_config: Callable[..., EvaluatorConfig], receiver: Any
                    ) -> AsyncIterator[EvaluatorApp]:
    """An evaluator with the Datasets API whose rule kept three failing answers in ``rude`` (version 1)."""
    config = make_config({"scorers": [POLITE], "behaviors": {"enabled": False},
                          "datasets": {"rules": [{"dataset": "rude", "description": "impolite"}]}})
    state = open_shared_state(config.state_db_url)
    installer = datasets_installer(state, API_KEY, Redactor.of(config.datasets))
    async with running(config, shared_state=state, service_installers=[installer]) as app:
        spans = [make_span("answer", tagged_attributes(("Polite", {"input": f"q{i} from a@b.io",
                                                                   "actual_output": f"no {i}"})))
                 for i in range(3)]
        await export(app, make_request(spans, service="shop"))
        await wait_for(receiver, lambda s: len(s) == 3)
        assert app.datasets is not None
        await app.datasets.flush()
        yield app
    await state.close()


async def cli(app: EvaluatorApp, *args: str) -> CliResult:
    return await run_cli("datasets", *args, env={"JUDGMENT_API_URL": f"127.0.0.1:{app.port}",
                                                 "JUDGMENT_API_KEY": API_KEY})


async def filled(app: EvaluatorApp) -> int:
    """The version at which ``rude`` holds the three collected records (1, or more when the writer took
    them in several batches)."""
    return int(json.loads(ok(await cli(app, "show", "rude", "--json")).stdout)["version"])


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stderr
    return result


async def test_list_show_versions_and_removal(evaluator: EvaluatorApp) -> None:
    v = await filled(evaluator)
    header, row = ok(await cli(evaluator, "list")).stdout.splitlines()
    assert header.split()[:4] == ["NAME", "VERSION", "EXAMPLES", "RETENTION"]
    assert row.split()[:4] == ["rude", str(v), "3", "none"] and row.endswith("impolite")
    shown = ok(await cli(evaluator, "show", "rude")).stdout
    assert f"version:     {v} (latest {v})" in shown and "examples:    3" in shown
    assert shown.count("fail ") == 3 and "[REDACTED:email]" in shown and "a@b.io" not in shown
    exported = ok(await cli(evaluator, "export", "rude")).stdout.splitlines()
    first = json.loads(exported[0])["id"]
    removed = ok(await cli(evaluator, "rm", "rude", "--example", first))
    assert removed.stdout.strip() == f"Removed 1 example(s) from rude, now version {v + 1}"
    assert len(ok(await cli(evaluator, "export", "rude")).stdout.splitlines()) == 2
    assert len(ok(await cli(evaluator, "export", f"rude@{v}")).stdout.splitlines()) == 3
    listed = json.loads(ok(await cli(evaluator, "show", f"rude@{v}", "--json")).stdout)
    assert listed["version"] == str(v) and len(listed["examples"]) == 3
    assert [h["note"] for h in listed["versions"]] == ["rule"] * v + ["removed"]
    again = await cli(evaluator, "rm", "rude", "--example", first)
    assert again.code == 1 and "rude holds none of those examples" in again.stderr
    assert ok(await cli(evaluator, "rm", "rude")).stdout.strip() == "Deleted dataset rude with every version"
    assert "No datasets yet" in ok(await cli(evaluator, "list")).stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
async def test_export_import_round_trip(evaluator: EvaluatorApp, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"rude.{fmt}"
    v = await filled(evaluator)
    done = ok(await cli(evaluator, "export", f"rude@{v}", "-o", str(path)))
    assert done.stderr.strip() == f"Exported 3 records of rude@{v} to {path} ({fmt})"
    original = Dataset.from_file(path).records
    assert len(original) == 3 and all(r.passed is False and r.service == "shop" for r in original)
    imported = ok(await cli(evaluator, "import", f"copy-{fmt}", str(path), "--description", "a copy"))
    assert imported.stdout.strip() == f"Added 3 records to copy-{fmt} (0 already there), now version 1"
    again = ok(await cli(evaluator, "import", f"copy-{fmt}", str(path)))
    assert again.stdout.strip() == f"Added 0 records to copy-{fmt} (3 already there), now version 1"
    back = tmp_path / f"back.{fmt}"
    ok(await cli(evaluator, "export", f"copy-{fmt}", "--format", fmt, "-o", str(back)))
    assert Dataset.from_file(back).records == original


async def test_add_a_traces_records_from_a_file(evaluator: EvaluatorApp, tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    ok(await cli(evaluator, "export", "rude", "-o", str(path)))
    trace = json.loads(path.read_text().splitlines()[1])["trace_id"]
    added = ok(await cli(evaluator, "add", "picked", "--trace", trace, "--from", str(path)))
    assert added.stdout.startswith("Added 1 records to picked")
    missing = await cli(evaluator, "add", "picked", "--trace", "f" * 32, "--from", str(path))
    assert missing.code == 1 and f"holds no record of trace {'f' * 32}" in missing.stderr


def _record_line(**changes: Any) -> str:
    record = InteractionRecord("Tone", "ab" * 16, "cd" * 8, 1.0, {"input": "x"}, 0.5, 0.2, False)
    return json.dumps({**record.to_json(), **changes})


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.jsonl", _record_line() + "\n" + _record_line(score="high") + "\n",
     "bad.jsonl line 2: field 'score' must be a number, got str"),
    ("bad.jsonl", _record_line() + "\n{not json\n", "bad.jsonl line 2: not JSON"),
    ("bad.jsonl", _record_line(id="x:y:z") + "\n", "bad.jsonl line 1: field 'id' is 'x:y:z'"),
    ("bad.csv", "scorer,trace_id\nTone,ab\n", "bad.csv: missing column(s) id, span_id"),
    ("bad.txt", "", "cannot tell the format from the suffix"),
])
async def test_bad_files_are_refused_by_line_and_field(evaluator: EvaluatorApp, tmp_path: Path, name: str,
                                                       content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = await cli(evaluator, "import", "target", str(path))
    assert result.code == 2 and message in result.stderr and "Traceback" not in result.stderr
    listed = ok(await cli(evaluator, "list")).stdout
    assert "rude" in listed and "target" not in listed  # nothing of the refused file was imported


async def test_csv_cells_are_checked_by_line(evaluator: EvaluatorApp, tmp_path: Path) -> None:
    path = tmp_path / "rude.csv"
    ok(await cli(evaluator, "export", "rude", "-o", str(path)))
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",false,", ",maybe,")
    path.write_text("\n".join(lines) + "\n")
    result = await cli(evaluator, "import", "target", str(path))
    assert result.code == 2
    assert f"{path} line 3: field 'passed' must be true, false or empty, got 'maybe'" in result.stderr


async def test_errors_say_what_to_do_without_tracebacks(evaluator: EvaluatorApp, tmp_path: Path) -> None:
    unknown = await cli(evaluator, "show", "ghost")
    assert (unknown.code, unknown.stderr.strip()) == (1, "judgeval: error: no dataset named 'ghost'")
    v = await filled(evaluator)
    future = await cli(evaluator, "export", "rude@9")
    assert future.code == 1 and f"dataset 'rude' has no version 9 (its latest is {v})" in future.stderr
    bad_ref = await cli(evaluator, "show", "rude@latest")
    assert bad_ref.code == 2 and "invalid version 'latest'" in bad_ref.stderr
    stdout_parquet = await cli(evaluator, "export", "rude", "--format", "parquet")
    assert stdout_parquet.code == 2 and "parquet is binary: pass -o FILE.parquet" in stdout_parquet.stderr
    gone = await cli(evaluator, "rm", "ghost")
    assert gone.code == 1 and "no dataset named 'ghost'" in gone.stderr
    unreachable = await run_cli("datasets", "list", env={"JUDGMENT_API_URL": "127.0.0.1:1",
                                                         "JUDGMENT_API_KEY": API_KEY})
    assert unreachable.code == 1 and "cannot reach the evaluator at 127.0.0.1:1" in unreachable.stderr
    wrong_key = await run_cli("datasets", "list", env={"JUDGMENT_API_URL": f"127.0.0.1:{evaluator.port}",
                                                       "JUDGMENT_API_KEY": "wrong"})
    assert wrong_key.code == 1 and "rejected the API key" in wrong_key.stderr
    for result in (unknown, future, bad_ref, stdout_parquet, gone, unreachable, wrong_key):
        assert "Traceback" not in result.stderr
