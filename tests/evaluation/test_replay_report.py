"""The replay report: pass rates over scored cases only, per-behavior rates, changed cases, the JSON
shape ``--json`` prints, the readable table, and records files read strictly."""

from __future__ import annotations

import json
from pathlib import Path

import judgeval.evaluation
import pytest
from judgeval.evaluation import CaseResult, EvaluationError, EvaluationReport, format_report, read_records
from judgeval.protocol.interaction_record import InteractionRecord


def case(index: int, baseline: bool | None, now: bool | None, behavior: str | None = None,
         score: float | None = None) -> CaseResult:
    return CaseResult(
        id=f"t{index}:s{index}:judge", trace_id=f"t{index}", span_id=f"s{index}", behavior_id=behavior,
        example={"input": str(index)}, baseline_score=None if baseline is None else float(baseline),
        baseline_passed=baseline, score=(float(now) if score is None else score) if now is not None else None,
        passed=now, reason="because", error_kind=None if now is not None else "timeout")


REPORT = EvaluationReport("judge", 2, "uploaded", [
    case(1, True, True), case(2, True, False), case(3, False, True, "b1"), case(4, False, False, "b1"),
    case(5, False, None, "b1"), case(6, None, True), case(7, True, True, score=0.75),
], source="r.jsonl")


def test_rates_count_scored_cases_and_errors_apart() -> None:
    assert (REPORT.scored, REPORT.passed, REPORT.failed, len(REPORT.errors)) == (6, 4, 2, 1)
    assert REPORT.pass_rate == pytest.approx(4 / 6)
    assert REPORT.baseline_pass_rate == pytest.approx(3 / 6)  # case 6 had no production result
    assert [c.id for c in REPORT.pass_to_fail] == ["t2:s2:judge"]
    assert [c.id for c in REPORT.fail_to_pass] == ["t3:s3:judge"]
    assert [c.score_delta for c in REPORT.score_changes] == [-1.0, 1.0, -0.25]
    assert REPORT.below(0.7) and not REPORT.below(0.6)
    empty = EvaluationReport("judge", 0, "builtin", [case(1, True, None)])
    assert empty.pass_rate is None and empty.below(0.0)


def test_per_behavior_rates() -> None:
    b1, none = REPORT.behaviors
    assert (b1.behavior_id, b1.cases, b1.scored, b1.passed, b1.pass_rate, b1.baseline_pass_rate) == (
        "b1", 3, 2, 1, 0.5, 0.0)
    assert (none.behavior_id, none.cases, none.pass_rate) == (None, 4, 0.75)


def test_the_json_shape_is_stable() -> None:
    data = json.loads(json.dumps(REPORT.to_json(0.9)))
    assert sorted(data) == sorted([
        "scorer", "agent", "source", "cases", "duplicates", "scored", "passed", "failed", "errors",
        "pass_rate", "baseline_pass_rate", "min_pass_rate", "below_min_pass_rate", "behaviors", "changed",
        "error_cases", "results"])
    assert data["scorer"] == {"name": "judge", "version": 2, "source": "uploaded"}
    assert (data["min_pass_rate"], data["below_min_pass_rate"]) == (0.9, True)
    assert data["changed"]["pass_to_fail"] == ["t2:s2:judge"]
    assert data["changed"]["score_deltas"][2] == {"id": "t7:s7:judge", "baseline_score": 1.0, "score": 0.75,
                                                  "delta": -0.25}
    assert data["error_cases"] == [{"id": "t5:s5:judge", "error_kind": "timeout", "reason": "because"}]
    assert data["behaviors"][0] == {"behavior_id": "b1", "cases": 3, "scored": 2, "passed": 1,
                                    "baseline_passed": 0, "pass_rate": 0.5, "baseline_pass_rate": 0.0}
    assert sorted(data["results"][1]) == sorted([
        "id", "trace_id", "span_id", "behavior_id", "example", "baseline_score", "baseline_passed", "score",
        "passed", "reason", "error_kind", "change", "score_delta"])
    assert data["results"][1]["change"] == "pass_to_fail"
    assert REPORT.to_json()["below_min_pass_rate"] is None


def test_the_table_lists_changes_and_caps_long_sections() -> None:
    text = format_report(REPORT, 0.9)
    assert "pass rate:  66.7%  (4 passed, 2 failed, 1 not scored)" in text
    assert "threshold:  90.0%  (BELOW the minimum pass rate)" in text
    assert "Was pass, now fail (1):\n  t2 s2  1 -> 0 (-1)  because" in text
    assert "(no behavior)" in text and "Not scored (1):\n  t5 s5  timeout: because" in text
    many = EvaluationReport("judge", 0, "builtin", [case(i, True, False) for i in range(25)])
    assert "... and 5 more (--json lists all)" in format_report(many, max_rows=20)


def test_records_files_are_read_strictly(tmp_path: Path) -> None:
    good = InteractionRecord(scorer="judge", trace_id="a" * 32, span_id="b" * 16, at=1.0, example={},
                             threshold=0.5)
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(good.to_json()) + "\n\n" + json.dumps(good.to_json()) + "\n")
    assert read_records(path) == [good, good]
    for text, fragment in (("{not json\n", "r.jsonl:1: not JSON"),
                           ('{"scorer": "x"}\n', "r.jsonl:1: not an interaction record: missing field")):
        path.write_text(text)
        with pytest.raises(EvaluationError, match=fragment):
            read_records(path)
    with pytest.raises(EvaluationError, match="records file not found"):
        read_records(tmp_path / "absent.jsonl")


def test_the_public_surface_is_pinned() -> None:
    assert sorted(judgeval.evaluation.__all__) == [
        "BehaviorPassRate", "CaseResult", "EvaluationError", "EvaluationReport", "ReplayProgress",
        "assert_pass_rate", "evaluate_dataset", "format_report", "read_records"]
