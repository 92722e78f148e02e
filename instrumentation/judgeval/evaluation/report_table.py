"""The readable form of an :class:`~judgeval.evaluation.report.EvaluationReport`: what ``judgeval eval run``
prints and what :func:`~judgeval.evaluation.assert_pass_rate` puts in its failure message."""

from __future__ import annotations

from judgeval.evaluation.report import CaseResult, EvaluationReport

MAX_ROWS = 20
"""Cases listed per section; the rest are counted (``--json`` lists them all)."""
REASON_CHARS = 70


def format_report(report: EvaluationReport, min_pass_rate: float | None = None,
                  max_rows: int = MAX_ROWS) -> str:
    """The report as text: summary, per-behavior table, changed cases, failing cases, errors."""
    version = f" v{report.scorer_version}" if report.scorer_version else ""
    lines = [f"Replay of {report.scorer!r}{version} ({report.scorer_source}) on {len(report.cases)} cases"
             + (f" from {report.source}" if report.source else "")
             + (f", agent re-run: {report.agent}" if report.agent else "")
             + (f" ({report.duplicates} repeated records left out)" if report.duplicates else ""),
             f"  pass rate:  {_percent(report.pass_rate)}  ({report.passed} passed, {report.failed} failed, "
             f"{len(report.errors)} not scored)",
             f"  production: {_percent(report.baseline_pass_rate)}  on the same cases"]
    if min_pass_rate is not None:
        verdict = "BELOW" if report.below(min_pass_rate) else "meets"
        lines.append(f"  threshold:  {_percent(min_pass_rate)}  ({verdict} the minimum pass rate)")
    lines += ["", "Per behavior:", f"  {'BEHAVIOR':<28} {'CASES':>5} {'PASS NOW':>9} {'PRODUCTION':>10}"]
    for b in report.behaviors:
        name = b.behavior_id or "(no behavior)"
        lines.append(f"  {name[:28]:<28} {b.cases:>5} {_percent(b.pass_rate):>9} "
                     f"{_percent(b.baseline_pass_rate):>10}")
    lines += _section("Was pass, now fail", report.pass_to_fail, max_rows)
    lines += _section("Was fail, now pass", report.fail_to_pass, max_rows)
    lines += _section("Other score changes", [c for c in report.score_changes if c.change is None], max_rows)
    lines += _section("Failing now", [c for c in report.cases if c.passed is False], max_rows)
    errors = report.errors
    if errors:
        lines += ["", f"Not scored ({len(errors)}):"]
        lines += [f"  {_where(c)}  {c.error_kind}: {_short(c.reason)}" for c in errors[:max_rows]]
        lines += _more(len(errors), max_rows)
    return "\n".join(lines)


def _section(title: str, cases: list[CaseResult], max_rows: int) -> list[str]:
    lines = ["", f"{title} ({len(cases)}):"]
    if not cases:
        return [*lines, "  (none)"]
    for case in cases[:max_rows]:
        delta = case.score_delta
        moved = f"{_score(case.baseline_score)} -> {_score(case.score)}" + (
            f" ({delta:+.3g})" if delta is not None else "")
        lines.append(f"  {_where(case)}  {moved}  {_short(case.reason)}")
    return lines + _more(len(cases), max_rows)


def _where(case: CaseResult) -> str:
    """The trace and span, as Jaeger/Tempo search for them (the scorer is the report's)."""
    return f"{case.trace_id} {case.span_id}"


def _more(count: int, max_rows: int) -> list[str]:
    return [f"  ... and {count - max_rows} more (--json lists all)"] if count > max_rows else []


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def _score(score: float | None) -> str:
    return "none" if score is None else f"{score:.3g}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 1] + "…"
