"""``judgeval alerts list | show NAME | history [NAME] | silence create|list|expire | test NAME``: the
evaluator's ``judgeval.admin.v1.Alerts`` API. Every command takes ``--json`` (protobuf's JSON mapping).

The parser part imports nothing heavy; gRPC and the stubs load only when the command runs.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from judgeval.cli.alerts_tables import print_history, print_list, print_show, print_silences, to_json

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def add_alerts_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Register ``alerts ...`` on the top-level subparsers (``connection`` adds --api-url/--api-key)."""
    alerts = commands.add_parser("alerts", help="alerts: state, history, silences, test notifications")
    actions = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parents = [connection, output]
    actions.add_parser("list", parents=parents, help="list alerts with their current state")
    show = actions.add_parser("show", parents=parents, help="one alert: settings, state, recent history")
    show.add_argument("name")
    history = actions.add_parser("history", parents=parents,
                                 help="transitions and delivery attempts, newest first")
    history.add_argument("name", nargs="?", help="one alert (default: all)")
    history.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
    test = actions.add_parser("test", parents=parents, help="send a test notification for one alert")
    test.add_argument("name")
    silence = actions.add_parser("silence", help="hold notifications back for a while (maintenance windows)")
    silence_actions = silence.add_subparsers(dest="silence_action", required=True, metavar="ACTION")
    create = silence_actions.add_parser("create", parents=parents, help="silence matching notifications")
    create.add_argument("--match", action="append", required=True, metavar="LABEL=VALUE",
                        help="e.g. alert=faithfulness-drop, service.name=support-bot, severity=warning "
                             "(repeat: all must match)")
    create.add_argument("--for", dest="duration", required=True, metavar="DURATION",
                        help="how long, e.g. 30m, 2h, 1d")
    create.add_argument("--starts-in", metavar="DURATION", help="start later (a maintenance window)")
    create.add_argument("--comment", default="", help="why (shown in history)")
    create.add_argument("--by", default="", help="who (default: $USER)")
    silence_actions.add_parser("list", parents=parents, help="active and upcoming silences")
    expire = silence_actions.add_parser("expire", parents=parents, help="end a silence now")
    expire.add_argument("id")


def run_alerts(args: argparse.Namespace) -> int:
    """Run one ``alerts`` command; returns the exit code (1 when a test delivery failed)."""
    from judgeval.admin.v1 import alerts_pb2 as pb
    from judgeval.admin.v1 import alerts_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, CliError, Connection

    client = AdminClient(Connection.resolve(args.api_url, args.api_key), stub_factory=pb_grpc.AlertsStub,
                         api_name="judgeval alerts API")
    try:
        if args.action == "list":
            reply = client.call("ListAlerts", pb.ListAlertsRequest())
            return _out(args, reply, print_list)
        if args.action == "show":
            return _out(args, client.call("GetAlert", pb.GetAlertRequest(name=args.name)), print_show)
        if args.action == "history":
            if not 1 <= args.limit <= 1000:
                raise CliError(f"--limit {args.limit}: must be 1..1000", 2)
            request = pb.AlertHistoryRequest(name=args.name or "", limit=args.limit)
            return _out(args, client.call("AlertHistory", request), print_history)
        if args.action == "silence":
            return _silence(args, client, pb)
        reply = client.call("TestAlert", pb.TestAlertRequest(name=args.name))
    finally:
        client.close()
    if args.json:
        print(to_json(reply))
    else:
        for delivery in reply.deliveries:
            verdict = "sent" if delivery.ok else "FAILED"
            print(f"{delivery.target}: {verdict} ({delivery.detail}, {delivery.attempts} attempt(s))")
    failed = [d for d in reply.deliveries if not d.ok]
    if failed:
        raise CliError(f"test notification for alert {args.name!r} could not be delivered to "
                       f"{', '.join(d.target for d in failed)}")
    return 0


def _silence(args: argparse.Namespace, client: Any, pb: Any) -> int:
    import getpass

    from judgeval.cli.admin_client import CliError

    if args.silence_action == "list":
        return _out(args, client.call("ListSilences", pb.ListSilencesRequest()), print_silences)
    if args.silence_action == "expire":
        client.call("ExpireSilence", pb.ExpireSilenceRequest(id=args.id))
        print(f"Silence {args.id} expired")
        return 0
    matchers = {}
    for item in args.match:
        label, sep, value = item.partition("=")
        if not sep or not label or not value:
            raise CliError(f"--match {item!r}: expected LABEL=VALUE, e.g. alert=faithfulness-drop", 2)
        matchers[label] = value
    request = pb.CreateSilenceRequest(matchers=matchers, duration_seconds=_seconds(args.duration, "--for"),
                                      comment=args.comment, created_by=args.by or _user(getpass))
    if args.starts_in:
        import time

        request.starts_at.FromNanoseconds(int((time.time() + _seconds(args.starts_in, "--starts-in")) * 1e9))
    silence = client.call("CreateSilence", request)
    if args.json:
        print(to_json(silence))
    else:
        print(f"Created silence {silence.id}")
        print_silences(pb.ListSilencesResponse(silences=[silence]))
    return 0


def _seconds(text: str, flag: str) -> float:
    from judgeval.cli.admin_client import CliError

    match = _DURATION.match(text.strip())
    if match is None:
        raise CliError(f"{flag} {text!r}: expected a duration like 30m, 2h or 1d", 2)
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _user(getpass: Any) -> str:
    try:
        return str(getpass.getuser())
    except (KeyError, OSError):
        return ""


def _out(args: argparse.Namespace, reply: Any, table: Any) -> int:
    if args.json:
        print(to_json(reply))
    else:
        table(reply)
    return 0
