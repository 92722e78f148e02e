"""``judgeval behaviors list|show|rename|merge|split|dismiss|expect|reopen|events``: the evaluator's
``judgeval.admin.v1.Behaviors`` API, as readable tables or ``--json``.

The parser part imports nothing heavy; gRPC and the stubs load only when the command runs.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

SPARK = " ▁▂▃▄▅▆▇█"
TREND_COLUMNS = 12


def add_behaviors_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Register the ``behaviors`` actions on the top-level subparsers (``connection`` adds
    --api-url/--api-key)."""
    behaviors = commands.add_parser("behaviors", help="tracked behaviors (groups of failures): list, show, "
                                    "rename, merge, split, dismiss, expect, reopen, events")
    actions = behaviors.add_subparsers(dest="action", required=True, metavar="ACTION")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print the API's answer as JSON")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, parents=[connection, output], help=help_text)  # type: ignore[no-any-return]

    listing = action("list", "list open behaviors, most frequent first")
    listing.add_argument("--scorer", metavar="NAME", help="only behaviors of this scorer")
    listing.add_argument("--state", choices=["new", "ongoing", "increasing", "resolved", "regressed"],
                         help="only behaviors in this lifecycle state")
    listing.add_argument("--all", action="store_true", help="also dismissed and merged behaviors")
    action("show", "show one behavior: lifecycle, trend, evidence").add_argument("id")
    rename = action("rename", "name a behavior (generated names never replace it)")
    rename.add_argument("id")
    rename.add_argument("name")
    merge = action("merge", "merge SOURCE into TARGET (later failures like SOURCE join TARGET)")
    merge.add_argument("source")
    merge.add_argument("target")
    split = action("split", "move example members (by span id, see `show`) into a new behavior")
    split.add_argument("id")
    split.add_argument("span_ids", nargs="+", metavar="SPAN_ID")
    split.add_argument("--name", default="", help="the new behavior's name")
    for name, help_text in (("dismiss", "dismiss: no lifecycle, no events, hidden from `list`"),
                            ("expect", "mark as expected: lifecycle kept, no events"),
                            ("reopen", "undo dismiss or expect")):
        action(name, help_text).add_argument("id")
    events = action("events", "the lifecycle event log, oldest first")
    events.add_argument("--after", type=int, default=0, metavar="SEQUENCE", help="events after this one")
    events.add_argument("--limit", type=int, default=100, help="at most this many (1-1000)")


def run_behaviors(args: argparse.Namespace) -> int:
    """Run one ``behaviors`` action; returns the exit code."""
    from judgeval.admin.v1 import behaviors_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, Connection

    client = AdminClient(Connection.resolve(args.api_url, args.api_key),
                         stub_factory=pb_grpc.BehaviorsStub, api_name="judgeval behaviors API")
    try:
        method, request, printer = _call_for(args)
        reply = client.call(method, request)
    finally:
        client.close()
    if args.json:
        from google.protobuf.json_format import MessageToDict

        print(json.dumps(MessageToDict(reply, preserving_proto_field_name=True), indent=2))
    else:
        printer(reply)
    return 0


def _call_for(args: argparse.Namespace) -> tuple[str, Any, Any]:
    """(method, request, how to print the reply) for the chosen action."""
    from judgeval.admin.v1 import behaviors_pb2 as pb

    dispositions = {"dismiss": pb.DISPOSITION_DISMISSED, "expect": pb.DISPOSITION_EXPECTED,
                    "reopen": pb.DISPOSITION_OPEN}
    request: Any
    if args.action == "list":
        request = pb.ListBehaviorsRequest(scorer=args.scorer or "", state=args.state or "",
                                          include_closed=args.all)
        return "ListBehaviors", request, lambda reply: _print_list(reply, _list_filters(args), args.all)
    if args.action == "show":
        return "GetBehavior", pb.GetBehaviorRequest(id=args.id), _print_show
    if args.action == "rename":
        return ("RenameBehavior", pb.RenameBehaviorRequest(id=args.id, name=args.name),
                lambda b: print(f"Renamed behavior {b.id} to {b.name!r}"))
    if args.action == "merge":
        return ("MergeBehaviors", pb.MergeBehaviorsRequest(source_id=args.source, target_id=args.target),
                lambda b: print(f"Merged {args.source} into {b.id} ({b.name!r}, {b.count} members)"))
    if args.action == "split":
        request = pb.SplitBehaviorRequest(id=args.id, span_ids=args.span_ids, name=args.name)
        return ("SplitBehavior", request,
                lambda b: print(f"Split {b.count} member(s) of {args.id} into {b.id} ({b.name!r})"))
    if args.action in dispositions:
        request = pb.SetDispositionRequest(id=args.id, disposition=dispositions[args.action])
        done = {"dismiss": "Dismissed", "expect": "Marked as expected", "reopen": "Reopened"}[args.action]
        return "SetDisposition", request, lambda b: print(f"{done} behavior {b.id} ({b.name!r})")
    request = pb.ListBehaviorEventsRequest(after_sequence=args.after, limit=args.limit)
    return "ListBehaviorEvents", request, _print_events


def _list_filters(args: argparse.Namespace) -> str:
    """The filters of ``behaviors list`` as typed, for the message when nothing matches."""
    return " ".join(f"--{flag} {value}" for flag, value in (("scorer", args.scorer), ("state", args.state))
                    if value)


def _print_list(reply: Any, filters: str = "", include_closed: bool = True) -> None:
    if not reply.behaviors and filters:
        print(f"No behaviors match {filters}; `judgeval behaviors list` without it lists all open ones.")
        return
    if not reply.behaviors and not include_closed:
        print("No open behaviors; `judgeval behaviors list --all` also lists dismissed and merged ones "
              "(behaviors appear when scored spans fail).")
        return
    if not reply.behaviors:
        print("No behaviors yet (they appear when scored spans fail).")
        return
    print(f"{'ID':<16} {'KIND':<7} {'STATE':<10} {'SEVERITY':<8} {'COUNT':>6}  {'TREND 24H':<12} "
          f"{'SCORER':<20} {'LAST SEEN':<20} NAME")
    for b in reply.behaviors:
        state = b.state + ("*" if _disposition(b) not in ("open", "") else "")
        print(f"{b.id:<16} {_kind(b):<7} {state:<10} {b.severity:<8} {b.count:>6}  {sparkline(b.trend):<12} "
              f"{b.scorer[:20]:<20} {_when(b.last_seen)[:16]:<20} {b.name}")
    if any(_disposition(b) not in ("open", "") for b in reply.behaviors):
        print("* dismissed, expected or merged (see `show`)")


def _print_show(b: Any) -> None:
    from judgeval.admin.v1 import behaviors_pb2 as pb

    source = pb.NameSource.Name(b.name_source).removeprefix("NAME_SOURCE_").lower()
    rows = [("id", b.id), ("name", f"{b.name} ({source})"), ("kind", _kind(b)),
            ("state", f"{b.state} since {_when(b.state_since)}"), ("severity", b.severity),
            ("disposition", _disposition(b) + (f" into {b.merged_into}" if b.merged_into else "")),
            ("scorers", ", ".join(b.scorers) or b.scorer), ("count", str(b.count)),
            ("first seen", _when(b.first_seen)), ("last seen", _when(b.last_seen)),
            ("trend", f"{sparkline(b.trend)}  ({sum(t.members for t in b.trend)} in the window)"),
            ("services", ", ".join(b.services) or "-"), ("agents", ", ".join(b.agents) or "-"),
            ("environments", ", ".join(b.environments) or "-"),
            ("description", b.description or "-")]
    for label, value in rows:
        print(f"{label + ':':<14}{value}")
    print("examples:")
    for example in b.examples:
        print(f"  trace {example.trace_id} span {example.span_id}")
        if example.reason:
            print(f"    reason: {' '.join(example.reason.split())[:160]}")
        if example.input:
            print(f"    input:  {' '.join(example.input.split())[:160]}")
        if not example.reason and not example.input:
            print(f"    {' | '.join(example.text.splitlines())[:160]}")


def _print_events(reply: Any) -> None:
    if not reply.events:
        print("No events after that sequence.")
        return
    print(f"{'SEQ':>5}  {'AT':<20} {'EVENT':<20} {'BEHAVIOR':<16} {'SEVERITY':<8} {'COUNT':>6}  NAME")
    for e in reply.events:
        print(f"{e.sequence:>5}  {_when(e.at)[:16]:<20} {e.kind:<20} {e.behavior_id:<16} {e.severity:<8} "
              f"{e.member_count:>6}  {e.name}")


def sparkline(trend: Any, columns: int = TREND_COLUMNS) -> str:
    """Members per bucket as ``columns`` bar characters, oldest left (empty when there are none)."""
    if not trend:
        return ""
    starts = [t.start.seconds for t in trend]
    first, last = min(starts), max(starts)
    width = max((last - first) / columns, 1.0)
    sums = [0] * columns
    for t in trend:
        sums[min(int((t.start.seconds - first) / width), columns - 1)] += t.members
    top = max(sums) or 1
    return "".join(SPARK[round(s / top * (len(SPARK) - 1))] if s else SPARK[0] for s in sums).rstrip() or "-"


def _kind(b: Any) -> str:
    from judgeval.admin.v1 import behaviors_pb2 as pb

    return pb.BehaviorKind.Name(b.kind).removeprefix("BEHAVIOR_KIND_").lower()


def _disposition(b: Any) -> str:
    from judgeval.admin.v1 import behaviors_pb2 as pb

    return pb.Disposition.Name(b.disposition).removeprefix("DISPOSITION_").lower()


def _when(stamp: Any) -> str:
    seconds = stamp.seconds + stamp.nanos / 1e9
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
