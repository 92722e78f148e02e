"""``judgeval behaviors list|show|rename``: the evaluator's ``judgeval.admin.v1.Behaviors`` API.

The parser part imports nothing heavy; gRPC and the stubs load only when the command runs.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any


def add_behaviors_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Register ``behaviors list|show|rename`` on the top-level subparsers (``connection`` adds
    --api-url/--api-key)."""
    behaviors = commands.add_parser("behaviors", help="list, show or rename behaviors (groups of failures)")
    actions = behaviors.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[connection], help="list behaviors, most frequent first")
    listing.add_argument("--scorer", metavar="NAME", help="only behaviors of this scorer")
    show = actions.add_parser("show", parents=[connection], help="show one behavior and example traces")
    show.add_argument("id")
    rename = actions.add_parser("rename", parents=[connection],
                                help="name a behavior (generated names never replace it)")
    rename.add_argument("id")
    rename.add_argument("name")


def run_behaviors(args: argparse.Namespace) -> int:
    """Run ``behaviors list`` / ``show`` / ``rename``; returns the exit code."""
    from judgeval.admin.v1 import behaviors_pb2 as pb
    from judgeval.admin.v1 import behaviors_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, Connection

    client = AdminClient(Connection.resolve(args.api_url, args.api_key),
                         stub_factory=pb_grpc.BehaviorsStub, api_name="judgeval behaviors API")
    try:
        if args.action == "list":
            _print_list(client.call("ListBehaviors", pb.ListBehaviorsRequest(scorer=args.scorer or "")))
        elif args.action == "show":
            _print_show(client.call("GetBehavior", pb.GetBehaviorRequest(id=args.id)))
        else:
            renamed = client.call("RenameBehavior", pb.RenameBehaviorRequest(id=args.id, name=args.name))
            print(f"Renamed behavior {renamed.id} to {renamed.name!r}")
    finally:
        client.close()
    return 0


def _print_list(reply: Any) -> None:
    if not reply.behaviors:
        print("No behaviors yet (they appear when scored spans fail).")
        return
    print(f"{'ID':<18} {'COUNT':>7}  {'SCORER':<24} {'LAST SEEN':<23} NAME")
    for b in reply.behaviors:
        print(f"{b.id:<18} {b.count:>7}  {b.scorer:<24} {_when(b.last_seen):<23} {b.name}")


def _print_show(b: Any) -> None:
    from judgeval.admin.v1 import behaviors_pb2 as pb

    source = pb.NameSource.Name(b.name_source).removeprefix("NAME_SOURCE_").lower()
    print(f"id:          {b.id}\nname:        {b.name} ({source})\nscorer:      {b.scorer}")
    print(f"count:       {b.count}\nfirst seen:  {_when(b.first_seen)}\nlast seen:   {_when(b.last_seen)}")
    print("examples:")
    for example in b.examples:
        summary = " | ".join(example.text.splitlines())[:160]
        print(f"  trace {example.trace_id} span {example.span_id}\n    {summary}")


def _when(stamp: Any) -> str:
    seconds = stamp.seconds + stamp.nanos / 1e9
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
