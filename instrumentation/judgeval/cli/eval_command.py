"""``judgeval eval run``: replay stored interactions through a scorer on the evaluator, optionally after
re-running a fixed agent on them, and gate on the pass rate.

Exit status: 0 the replay ran (and met ``--min-pass-rate``); :data:`EXIT_BELOW_THRESHOLD` (3) it ran and the
pass rate is below ``--min-pass-rate``, or no case could be scored; 1 it could not run (evaluator
unreachable, key rejected, unknown scorer); 2 bad input (options, records file, agent reference).
The report goes to stdout (a table, or ``--json``); the progress bars go to stderr. The agent runs with
``JUDGMENT_MONITORING=false`` unless the environment sets it: a replay's calls must not reach production
traces (and be scored, alerted on and collected there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from judgeval.environment_variables import JUDGMENT_MONITORING

EXIT_COULD_NOT_RUN = 1
EXIT_BAD_INPUT = 2
EXIT_BELOW_THRESHOLD = 3


def add_eval_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Register ``eval run`` on the top-level subparsers (``connection`` adds --api-url/--api-key)."""
    evaluation = commands.add_parser("eval", help="offline evaluation: replay interactions through a scorer")
    actions = evaluation.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", parents=[connection], help="replay interaction records through a scorer "
                             "on the evaluator (the same code and sandbox as production)")
    cases = run.add_mutually_exclusive_group(required=True)
    cases.add_argument("--dataset", metavar="NAME[@VERSION]",
                       help="a dataset stored on the evaluator (its current version unless @VERSION)")
    cases.add_argument("--records", metavar="FILE.jsonl",
                       help="interaction records, one JSON object per line (a dataset export)")
    run.add_argument("--scorer", required=True, metavar="NAME[@VERSION]",
                     help="scorer to run: an uploaded scorer (latest version unless @VERSION), a built-in or "
                          "a YAML-configured one")
    run.add_argument("--scorer-config", type=_json_object, metavar="JSON",
                     help="the scorer's config as a JSON object, as a span request's scorer config (e.g. a "
                          "built-in's options: '{\"keywords\": [\"refund\"]}'); default: the options the "
                          "records were scored with in production")
    run.add_argument("--threshold", type=float, metavar="T",
                     help="pass threshold for every case (default: each record's own)")
    run.add_argument("--agent", metavar="MODULE:FUNCTION",
                     help="re-run this (fixed) agent function on each example's input first, and score its "
                          "new output (imported from the current directory)")
    run.add_argument("--agent-concurrency", type=int, default=1, metavar="N",
                     help="agent calls at a time (async functions on one event loop, others in threads; "
                          "default 1)")
    run.add_argument("--output-field", metavar="FIELD",
                     help="example field the agent's answer replaces (default: actual_output, output or "
                          "response, whichever the example has)")
    run.add_argument("--min-pass-rate", type=_rate, metavar="RATE",
                     help=f"exit {EXIT_BELOW_THRESHOLD} when the pass rate is below RATE (0 to 1)")
    run.add_argument("--limit", type=int, metavar="N", help="replay at most the first N records")
    run.add_argument("--json", action="store_true", help="print the report as JSON (for CI)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def run_eval(args: argparse.Namespace) -> int:
    """Run ``eval run``; returns the exit code."""
    from judgeval.cli.admin_client import CliError, Connection
    from judgeval.evaluation import EvaluationError, evaluate_dataset, format_report

    connection = Connection.resolve(args.api_url, args.api_key)
    name, version = _scorer_and_version(args.scorer)
    if args.agent:  # set before the agent's module builds its Tracer (see the module doc)
        os.environ.setdefault(JUDGMENT_MONITORING, "false")
    progress = None if args.no_progress else BarProgress()
    try:
        report = evaluate_dataset(args.dataset or Path(args.records), name, scorer_version=version,
                                  scorer_config=args.scorer_config, threshold=args.threshold,
                                  agent=args.agent, output_field=args.output_field,
                                  agent_concurrency=args.agent_concurrency, limit=args.limit,
                                  api_url=connection.shown_url, api_key=connection.api_key, progress=progress)
    except EvaluationError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT if exc.bad_input else EXIT_COULD_NOT_RUN) from None
    finally:
        if progress is not None:
            progress.close()
    if args.json:
        print(json.dumps(report.to_json(args.min_pass_rate), indent=2))
    else:
        print(format_report(report, args.min_pass_rate))
    if report.pass_rate is None:
        print(f"judgeval: error: no case could be scored ({len(report.errors)} errors, listed above)",
              file=sys.stderr)
        return EXIT_BELOW_THRESHOLD
    if args.min_pass_rate is not None and report.below(args.min_pass_rate):
        print(f"judgeval: pass rate {report.pass_rate:.1%} is below --min-pass-rate {args.min_pass_rate:.1%}",
              file=sys.stderr)
        return EXIT_BELOW_THRESHOLD
    return 0


class BarProgress:
    """tqdm progress bars on stderr, one per replay stage (agent re-run, scoring)."""

    def __init__(self) -> None:
        self._bar: Any = None

    def stage(self, name: str, total: int) -> None:
        from tqdm import tqdm

        self.close()
        label = "re-running agent" if name == "agent" else name
        self._bar = tqdm(total=total, desc=label, unit="case", file=sys.stderr, dynamic_ncols=True)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _scorer_and_version(text: str) -> tuple[str, int | None]:
    """``"Name@3"`` → ``("Name", 3)``; an ``@`` not followed by digits is part of the name."""
    from judgeval.cli.admin_client import CliError

    name, at, version = text.rpartition("@")
    if not at or not version.isdigit():
        name, version = text, ""
    if not name.strip():
        raise CliError("--scorer needs a scorer name", EXIT_BAD_INPUT)
    if version and int(version) < 1:
        raise CliError(f"scorer versions start at 1, got @{version}", EXIT_BAD_INPUT)
    return name, int(version) if version else None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {type(value).__name__}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value
