"""``judgeval scorers calibration NAME``: how far to trust a judge. Its agreement with people's labels
(true-positive and true-negative rates with Wilson intervals, Cohen's kappa; positive = failure) and the
failure rate over a window corrected for its measured error (Rogan-Gladen), as text or ``--json``.

The parser part imports nothing heavy; gRPC and the stubs load only when the command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_calibration_action(actions: Any, connection: argparse.ArgumentParser) -> None:
    """Register ``calibration`` on the ``scorers`` actions (``connection`` adds --api-url/--api-key)."""
    calibration = actions.add_parser("calibration", parents=[connection],
                                     help="a judge's agreement with people's labels and its corrected "
                                          "failure rate")
    calibration.add_argument("name", help="the scorer")
    calibration.add_argument("--dataset", help="use only this dataset's labels (default: every dataset's)")
    calibration.add_argument("--window", metavar="DURATION",
                             help="observed failure rate over this trailing window, e.g. 30m, 6h, 7d "
                                  "(default: the evaluator's calibration.window)")
    calibration.add_argument("--json", action="store_true", help="print the report as JSON")


def run_calibration(args: argparse.Namespace) -> int:
    """Run ``scorers calibration``; returns the exit code."""
    from judgeval.admin.v1 import calibration_pb2 as pb
    from judgeval.admin.v1 import calibration_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, CliError, Connection

    window = _seconds(args.window) if args.window else 0.0
    if window is None:
        raise CliError(f"--window: expected a duration like 30m, 6h or 7d, got {args.window!r}", 2)
    client = AdminClient(Connection.resolve(args.api_url, args.api_key), stub_factory=pb_grpc.CalibrationStub,
                         api_name="judgeval calibration API")
    try:
        report = client.call("GetCalibration", pb.GetCalibrationRequest(
            scorer=args.name, dataset=args.dataset or "", window_seconds=window))
    finally:
        client.close()
    data = report_dict(report)
    print(json.dumps(data, indent=2) if args.json else report_text(data))
    return 0


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> float | None:
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _UNITS else (text, "s")
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        return None
    return value if value > 0 else None


def _opt(message: Any, field: str) -> float | None:
    return getattr(message, field) if message.HasField(field) else None


def _rate(rate: Any) -> dict[str, Any]:
    return {"estimate": _opt(rate, "estimate"), "low": _opt(rate, "low"), "high": _opt(rate, "high"),
            "successes": rate.successes, "trials": rate.trials}


def report_dict(r: Any) -> dict[str, Any]:
    """The report as plain JSON values (absent numbers are ``null``)."""
    return {
        "scorer": r.scorer, "dataset": r.dataset or None, "positive": "failure",
        "confidence": r.confidence, "min_labels": r.min_labels,
        "true_positives": r.true_positives, "false_negatives": r.false_negatives,
        "true_negatives": r.true_negatives, "false_positives": r.false_positives, "unjudged": r.unjudged,
        "sensitivity": _rate(r.sensitivity), "specificity": _rate(r.specificity),
        "kappa": _opt(r, "kappa"), "window_seconds": r.window_seconds, "scores": r.scores,
        "failures": r.failures, "observed_failure_rate": _opt(r, "observed_failure_rate"),
        "corrected_failure_rate": _opt(r, "corrected_failure_rate"),
        "corrected_low": _opt(r, "corrected_low"), "corrected_high": _opt(r, "corrected_high"),
        "refused": r.refused or None,
    }


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(rate: dict[str, Any]) -> str:
    if rate["estimate"] is None:
        return "- (no labels)"
    return (f"{_num(rate['estimate'])}  [{_num(rate['low'])}, {_num(rate['high'])}]  "
            f"({rate['successes']}/{rate['trials']})")


def report_text(d: dict[str, Any]) -> str:
    """The report for people; positive = failure is said once, at the top."""
    labels = d["true_positives"] + d["false_negatives"] + d["true_negatives"] + d["false_positives"]
    level = f"{d['confidence'] * 100:g}%"
    lines = [
        f"scorer:                  {d['scorer']}",
        f"labels:                  {labels} compared ({d['true_positives'] + d['false_negatives']} fail, "
        f"{d['true_negatives'] + d['false_positives']} pass by people; {d['unjudged']} without a verdict) "
        f"from {'dataset ' + repr(d['dataset']) if d['dataset'] else 'every dataset'}",
        "positive:                failure (the judge fails what people failed)",
        f"true-positive rate:      {_interval(d['sensitivity'])}   sensitivity, {level} Wilson",
        f"true-negative rate:      {_interval(d['specificity'])}   specificity, {level} Wilson",
        f"Cohen's kappa:           {_num(d['kappa'])}",
        f"window:                  {d['window_seconds']:g}s: {d['scores']} scores, {d['failures']} failed",
        f"observed failure rate:   {_num(d['observed_failure_rate'])}",
    ]
    if d["refused"]:
        lines.append(f"corrected failure rate:  not given: {d['refused']}")
    else:
        lines.append(f"corrected failure rate:  {_num(d['corrected_failure_rate'])}  "
                     f"[{_num(d['corrected_low'])}, {_num(d['corrected_high'])}]   Rogan-Gladen, {level} "
                     "(Bonferroni box over the Wilson intervals)")
    return "\n".join(lines)
