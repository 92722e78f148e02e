"""``judgeval scorers shadow | compare | promote``: scorer versions in shadow, their comparison with the
current version, and promotion, over the evaluator's ``ScorerVersionsAdmin`` API.

::

    judgeval upload_scorer scorer.py requirements.txt --shadow     # v2 runs in shadow, v1 stays current
    judgeval scorers compare "Package Inquiry Scorer"              # pass rates, agreement, changed cases
    judgeval scorers compare "Package Inquiry Scorer" --json       # the same for CI
    judgeval scorers promote "Package Inquiry Scorer@2"            # v2 is what production runs
    judgeval scorers shadow "Package Inquiry Scorer@3"             # shadow an existing version
    judgeval scorers shadow "Package Inquiry Scorer" --stop
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
from datetime import UTC, datetime
from typing import Any

VERSION_ACTIONS = frozenset({"shadow", "compare", "promote"})
_VERDICTS = {1: "pass", 2: "fail", 3: "error"}


def add_scorer_version_commands(actions: Any, connection: argparse.ArgumentParser) -> None:
    """Add ``shadow``, ``compare`` and ``promote`` to the ``judgeval scorers`` actions."""
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("--by", help="who does this, recorded by the evaluator (default: user@host)")
    shadow = actions.add_parser("shadow", parents=[connection, actor],
                                help="run a version in shadow beside the current one (results recorded, "
                                     "not written to spans or alerted), or --stop it")
    shadow.add_argument("target", metavar="NAME@VERSION", help="scorer and version (just NAME with --stop)")
    shadow.add_argument("--stop", action="store_true", help="stop the scorer's shadow")
    compare = actions.add_parser("compare", parents=[connection],
                                 help="compare a shadow version with the current one on live traffic")
    compare.add_argument("name")
    compare.add_argument("--version", type=int,
                         help="shadow version to compare (default: the one in shadow now, else the latest)")
    compare.add_argument("--limit", type=int, default=20, help="changed cases to list (default 20)")
    compare.add_argument("--json", action="store_true", help="print JSON instead of a table")
    compare.add_argument("--min-agreement", type=float, metavar="RATE",
                         help="exit 1 when the agreement rate is below RATE (0..1) or unknown: a CI gate "
                              "before `promote`")
    promote = actions.add_parser("promote", parents=[connection, actor],
                                 help="make a version what production runs (stops its shadow)")
    promote.add_argument("target", metavar="NAME@VERSION")


def run_scorer_versions(args: argparse.Namespace) -> int:
    """Run one of :data:`VERSION_ACTIONS`; errors raise ``CliError``."""
    from judgeval.admin.v1 import scorer_versions_pb2 as pb
    from judgeval.admin.v1 import scorer_versions_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, CliError, Connection

    if args.action == "compare" and args.limit < 0:
        raise CliError("--limit must be 0 or more", 2)
    if args.action == "compare" and args.min_agreement is not None and not 0 <= args.min_agreement <= 1:
        raise CliError(f"--min-agreement must be between 0 and 1, got {args.min_agreement:g}", 2)
    client = AdminClient(Connection.resolve(args.api_url, args.api_key), pb_grpc.ScorerVersionsAdminStub,
                         "judgeval scorer versions API (an evaluator older than scorer shadows?)")
    try:
        if args.action == "compare":
            request = pb.CompareShadowRequest(name=args.name, shadow_version=args.version,
                                              changed_limit=args.limit)
            reply = client.call("CompareShadow", request)
            print(json.dumps(comparison_json(reply), indent=2) if args.json else comparison_table(reply))
            return _gate(reply, args.min_agreement)
        elif args.action == "promote":
            name, version = _target(args.target, needs_version=True)
            done = client.call("PromoteScorer", pb.PromoteScorerRequest(name=name, version=version,
                                                                         actor=actor_of(args)))
            was = f" (was version {done.previous_version})" if done.previous_version else ""
            print(f"Promoted scorer {done.name!r} version {done.version}{was}: unpinned requests run it on "
                  f"every evaluator sharing the state database within a few seconds")
        elif args.stop:
            name, _ = _target(args.target, needs_version=False)
            pointer = client.call("StopShadow", pb.StopShadowRequest(name=name, actor=actor_of(args)))
            print(f"Stopped the shadow of scorer {pointer.name!r}; version {pointer.current_version} is "
                  "current")
        else:
            name, version = _target(args.target, needs_version=True)
            pointer = client.call("StartShadow", pb.StartShadowRequest(name=name, version=version,
                                                                       actor=actor_of(args)))
            print(f"Scorer {pointer.name!r} version {pointer.shadow_version} runs in shadow beside current "
                  f"version {pointer.current_version}; see `judgeval scorers compare {_quoted(name)}`")
    finally:
        client.close()
    return 0


def _gate(reply: Any, minimum: float | None) -> int:
    """Exit status of ``compare``: 1 when ``--min-agreement`` is not met (said on stderr), else 0."""
    if minimum is None:
        return 0
    rate = _rate(reply.agreed, reply.compared)
    if rate is not None and rate >= minimum:
        return 0
    shown = "unknown (no interaction has a verdict from both versions)" if rate is None else f"{rate:.1%}"
    print(f"judgeval: agreement {shown} is below --min-agreement {minimum:.1%}", file=sys.stderr)
    return 1


def scorer_pointers(api_url: str | None, api_key: str | None) -> dict[str, Any] | None:
    """Every scorer's pointer message by name, or ``None`` from an evaluator without the API."""
    from judgeval.admin.v1 import scorer_versions_pb2 as pb
    from judgeval.admin.v1 import scorer_versions_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, CliError, Connection

    client = AdminClient(Connection.resolve(api_url, api_key), pb_grpc.ScorerVersionsAdminStub)
    try:
        reply = client.call("ListScorerPointers", pb.ListScorerPointersRequest())
    except CliError:
        return None
    finally:
        client.close()
    return {p.name: p for p in reply.pointers}


def comparison_json(reply: Any) -> dict[str, Any]:
    """The comparison as a JSON object (rates are ``null`` when there is nothing to divide by)."""
    return {
        "scorer": reply.name, "shadow_version": reply.shadow_version,
        "shadow_running": reply.shadow_running if reply.HasField("shadow_running") else None,
        "current_versions": list(reply.current_versions), "count": reply.count,
        "current": {"scored": reply.current_scored, "passed": reply.current_passed,
                    "pass_rate": _rate(reply.current_passed, reply.current_scored)},
        "shadow": {"scored": reply.shadow_scored, "passed": reply.shadow_passed,
                   "pass_rate": _rate(reply.shadow_passed, reply.shadow_scored)},
        "compared": reply.compared, "agreed": reply.agreed,
        "agreement_rate": _rate(reply.agreed, reply.compared),
        "mean_score_delta": reply.mean_score_delta if reply.HasField("mean_score_delta") else None,
        "changed_count": reply.changed_count,
        "changed": [{
            "record_id": c.record_id, "trace_id": c.trace_id, "span_id": c.span_id, "at": c.at,
            "current": {"version": c.current_version, "verdict": _VERDICTS.get(c.current_verdict, "unknown"),
                        "score": c.current_score if c.HasField("current_score") else None,
                        "reason": c.current_reason},
            "shadow": {"version": reply.shadow_version, "verdict": _VERDICTS.get(c.shadow_verdict, "unknown"),
                       "score": c.shadow_score if c.HasField("shadow_score") else None,
                       "reason": c.shadow_reason},
        } for c in reply.changed],
    }


def comparison_table(reply: Any) -> str:
    """The comparison for a terminal: totals, then each changed case with both reasons."""
    data = comparison_json(reply)
    currents = ", ".join(str(v) for v in data["current_versions"]) or "-"
    running = " (in shadow now)" if data["shadow_running"] == reply.shadow_version else ""
    delta = data["mean_score_delta"]
    lines = [
        f"Scorer {reply.name!r}: shadow version {reply.shadow_version}{running} against current "
        f"version {currents}, {reply.count} interaction(s)",
        f"{'':<18} {'CURRENT':>10} {'SHADOW':>10}",
        f"{'scored':<18} {data['current']['scored']:>10} {data['shadow']['scored']:>10}",
        f"{'passed':<18} {data['current']['passed']:>10} {data['shadow']['passed']:>10}",
        f"{'pass rate':<18} {_percent(data['current']['pass_rate']):>10} "
        f"{_percent(data['shadow']['pass_rate']):>10}",
        f"agreement          {_percent(data['agreement_rate'])} ({reply.agreed} of {reply.compared} with a "
        "verdict on both sides)",
        f"mean score delta   {'-' if delta is None else f'{delta:+.3f}'} (shadow - current)",
        f"changed cases      {reply.changed_count}"
        + (f" (newest {len(reply.changed)} below)" if len(reply.changed) < reply.changed_count else ""),
    ]
    for case in data["changed"]:
        lines += ["", f"  {case['record_id']}  {_when(case['at'])}",
                  f"    current v{case['current']['version']}: {_side(case['current'])}",
                  f"    shadow  v{case['shadow']['version']}: {_side(case['shadow'])}"]
    return "\n".join(lines)


def _side(side: dict[str, Any]) -> str:
    score = "" if side["score"] is None else f" {side['score']:.3f}"
    reason = " ".join(str(side["reason"]).split())
    return f"{side['verdict']}{score}" + (f" - {reason}" if reason else "")


def _target(text: str, *, needs_version: bool) -> tuple[str, int]:
    from judgeval.cli.admin_client import CliError

    name, at, version = text.rpartition("@")
    if at and version.isdigit() and name:
        if not needs_version:
            raise CliError(f"--stop takes the scorer name only, not {text!r}", 2)
        return name, int(version)
    if needs_version:
        raise CliError(f"give the scorer and version as NAME@VERSION (e.g. 'Package Inquiry Scorer@2'), "
                       f"got {text!r}", 2)
    return text, 0


def actor_of(args: argparse.Namespace) -> str:
    """Who runs the command, as the evaluator records it: ``--by``, else ``user@host``."""
    if args.by:
        return str(args.by)
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return f"uid {os.getuid()}@{socket.gethostname()}"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
