"""``judgeval backfill``: score spans that already happened (read back from Jaeger) with a scorer of the
evaluator, and write the results into their traces, through the evaluator's ``judgeval.admin.v1.Backfill``
API.

It first shows the estimate (spans to score, judge calls, cost) and asks before scoring, unless ``--yes``;
``--dry-run`` shows the estimate and the spans, and writes nothing. Progress goes to stderr, the summary to
stdout. The parser part imports nothing heavy; gRPC and the stubs load only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
PROGRESS_EVERY_S = 1.0
"""Progress lines on stderr at most this often (a long run would print one per span otherwise)."""


def add_backfill_command(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Register ``backfill`` on the top-level subparsers (``connection`` adds --api-url/--api-key)."""
    backfill = commands.add_parser(
        "backfill", parents=[connection],
        help="score past spans (read back from Jaeger) and write the results into their traces")
    backfill.add_argument("--scorer", required=True, metavar="NAME[@VERSION]",
                          help="the evaluator's scorer (an uploaded one's version after @; default latest)")
    backfill.add_argument("--service", required=True, help="the service whose spans to score")
    backfill.add_argument("--operation", metavar="SPAN_NAME", help="only spans of this name")
    backfill.add_argument("--tags", nargs="+", default=[], metavar="KEY=VALUE",
                          help="only spans with these attributes, e.g. gen_ai.operation.name=chat")
    backfill.add_argument("--since", required=True, metavar="WHEN",
                          help="oldest span: a duration ago (30m, 24h, 7d, 2w) or an ISO 8601 time")
    backfill.add_argument("--until", metavar="WHEN", help="newest span, same forms (default now)")
    backfill.add_argument("--jaeger", metavar="URL",
                          help="Jaeger's query API, e.g. http://jaeger:16686 (default: the evaluator's "
                               "backfill.jaeger_url; another must be in backfill.allowed_jaeger_urls)")
    backfill.add_argument("--threshold", type=float, help="score a span must reach to pass (default 0.5)")
    backfill.add_argument("--max-judge-calls", type=int, default=0, metavar="N",
                          help="stop before making more judge calls than this")
    backfill.add_argument("--max-cost-usd", type=float, default=0.0, metavar="X",
                          help="stop before the estimated cost passes this")
    backfill.add_argument("--yes", action="store_true", help="run without asking for confirmation")
    backfill.add_argument("--dry-run", action="store_true", help="show the estimate and spans; write nothing")
    backfill.add_argument("--list", type=int, default=10, metavar="N", help="spans listed by --dry-run")
    backfill.add_argument("--json", action="store_true", help="print the estimate and summary as JSON")


def run_backfill(args: argparse.Namespace) -> int:
    """Estimate, confirm, run; returns the exit code."""
    from judgeval.admin.v1 import backfill_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, Connection

    request = build_request(args, datetime.now(UTC))
    client = AdminClient(Connection.resolve(args.api_url, args.api_key),
                         stub_factory=pb_grpc.BackfillStub, api_name="judgeval backfill API")
    try:
        estimate = client.call("EstimateBackfill", request, timeout=600)
        _show_estimate(estimate, request, args)
        if args.dry_run:
            print("dry run: nothing scored, nothing written", file=sys.stderr)
            return 0
        if estimate.spans_to_score == 0:
            print("nothing to score", file=sys.stderr)
            return 0
        if not args.yes and not _confirmed(estimate):
            print("not started", file=sys.stderr)
            return 1
        final, shown = None, 0.0
        for progress in client.stream("RunBackfill", request):
            final = progress
            if not progress.finished and not args.json and time.monotonic() - shown >= PROGRESS_EVERY_S:
                print(f"  {_counts(progress)}", file=sys.stderr, flush=True)
                shown = time.monotonic()
    finally:
        client.close()
    return _show_summary(final, args)


def build_request(args: argparse.Namespace, now: datetime) -> Any:
    """The API request for the command line; bad input is a :class:`CliError` (exit 2) naming the flag."""
    from judgeval.admin.v1 import backfill_pb2 as pb
    from judgeval.cli.admin_client import CliError

    name, _, version = args.scorer.rpartition("@") if "@" in args.scorer else (args.scorer, "", "")
    if version and not version.isdigit():
        raise CliError(f"--scorer {args.scorer!r}: the version after @ must be a number", 2)
    tags = {}
    for item in args.tags:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--tags {item!r}: expected KEY=VALUE, e.g. gen_ai.operation.name=chat", 2)
        tags[key.strip()] = value
    if args.max_judge_calls < 0 or args.max_cost_usd < 0:
        raise CliError("--max-judge-calls and --max-cost-usd must not be negative", 2)
    start = parse_when(args.since, "--since", now)
    end = parse_when(args.until, "--until", now) if args.until else now
    if end <= start:
        raise CliError(f"--since {args.since} is not before --until {args.until or 'now'}", 2)
    request = pb.BackfillRequest(
        scorer=name, scorer_version=int(version or 0), service=args.service, operation=args.operation or "",
        tags=tags, jaeger_url=args.jaeger or "", max_judge_calls=args.max_judge_calls,
        max_cost_usd=args.max_cost_usd, list_limit=max(1, min(args.list, 1000)),
    )
    if args.threshold is not None:
        request.threshold = args.threshold
    request.start.FromDatetime(start)
    request.end.FromDatetime(end)
    return request


def parse_when(text: str, flag: str, now: datetime) -> datetime:
    """``24h``/``7d``/... ago, or an ISO 8601 time (UTC unless it names a zone)."""
    from judgeval.cli.admin_client import CliError

    match = _AGO.match(text.strip())
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"{flag} {text!r}: expected a duration ago (30m, 24h, 7d, 2w) or an ISO 8601 time "
                       "(2026-05-01T00:00:00Z)", 2) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _show_estimate(estimate: Any, request: Any, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps({"estimate": _as_dict(estimate)}, indent=2))
        return
    version = f" v{estimate.scorer_version}" if estimate.scorer_version else ""
    start, end = request.start.ToDatetime(tzinfo=UTC), request.end.ToDatetime(tzinfo=UTC)
    print(f"Backfill of {estimate.scorer!r}{version} over {request.service} spans from "
          f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC (Jaeger {estimate.jaeger_url})")
    print(f"  traces read: {estimate.traces_read}, spans matching: {estimate.spans_matched}, "
          f"already backfilled: {estimate.already_backfilled}, already scored live: "
          f"{estimate.already_scored_live}")
    cost = (f"about ${estimate.cost_usd:.4f}" if estimate.priced or not estimate.judge_calls
            else f"cost unknown (no price for {estimate.model or 'the judge model'} in judge.prices)")
    print(f"  to score: {estimate.spans_to_score} spans, {estimate.judge_calls} judge calls "
          f"(~{estimate.input_tokens} input tokens on {estimate.model or 'no model'}), {cost}")
    if estimate.spans_within_budget < estimate.spans_to_score:
        print(f"  budget: stops after {estimate.spans_within_budget} of {estimate.spans_to_score} spans")
    if args.dry_run:
        for span in estimate.spans:
            started = span.start.ToDatetime(tzinfo=UTC)
            print(f"  {started:%Y-%m-%d %H:%M:%S}  {span.trace_id}  {span.span_id}  {span.name}")
        if estimate.spans_to_score > len(estimate.spans):
            print(f"  ... and {estimate.spans_to_score - len(estimate.spans)} more")


def _confirmed(estimate: Any) -> bool:
    from judgeval.cli.admin_client import CliError

    if not sys.stdin.isatty():
        raise CliError("not confirmed: stdin is not a terminal; pass --yes to run without asking "
                       "(or --dry-run to see the spans)", 2)
    answer = input(f"Score {estimate.spans_to_score} spans with {estimate.scorer!r}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _counts(progress: Any) -> str:
    return (f"scored {progress.scored}/{progress.spans_to_score}: {progress.passed} passed, "
            f"{progress.failed} failed, {progress.errors} errors; {progress.judge_calls} judge calls, "
            f"${progress.cost_usd:.4f}")


def _show_summary(final: Any, args: argparse.Namespace) -> int:
    from judgeval.cli.admin_client import CliError

    if final is None or not final.finished:
        raise CliError("the evaluator ended the backfill before it finished; run it again to score the rest")
    if args.json:
        print(json.dumps({"summary": _as_dict(final)}, indent=2))
        return 0
    if final.stopped_by_budget:
        head = f"stopped by budget after {final.scored}"
    elif final.stopped_reason:
        head = f"stopped ({final.stopped_reason}) after {final.scored}"
    else:
        head = f"finished: {final.scored}"
    print(f"backfill {final.run_id} {head} of {final.spans_to_score} spans: {final.passed} passed, "
          f"{final.failed} failed, {final.errors} errors; {final.results_written} results written into their "
          f"traces; {final.judge_calls} judge calls, ${final.cost_usd:.4f}")
    if final.skipped_claimed:
        print(f"  {final.skipped_claimed} spans skipped: another backfill run claimed them first")
    for sample in final.error_samples:
        print(f"  error: {sample}")
    if final.errors:
        print("  spans that got no score were not written; run the backfill again to retry them")
    return 0


def _as_dict(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
