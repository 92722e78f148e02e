"""``judgeval alerts list`` and ``judgeval alerts test NAME``: the evaluator's ``judgeval.admin.v1.Alerts``.

The parser part imports nothing heavy; gRPC and the stubs load only when the command runs.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any


def add_alerts_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Register ``alerts list|test`` on the top-level subparsers (``connection`` adds --api-url/--api-key)."""
    alerts = commands.add_parser("alerts", help="list configured alerts or send a test notification")
    actions = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", parents=[connection], help="list alerts with their current state")
    test = actions.add_parser("test", parents=[connection], help="send a test notification for one alert")
    test.add_argument("name")


def run_alerts(args: argparse.Namespace) -> int:
    """Run ``alerts list`` / ``alerts test``; returns the exit code (1 when a test delivery failed)."""
    from judgeval.admin.v1 import alerts_pb2 as pb
    from judgeval.admin.v1 import alerts_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, CliError, Connection

    client = AdminClient(Connection.resolve(args.api_url, args.api_key), stub_factory=pb_grpc.AlertsStub,
                         api_name="judgeval alerts API")
    try:
        if args.action == "list":
            _print_list(client.call("ListAlerts", pb.ListAlertsRequest()))
            return 0
        reply = client.call("TestAlert", pb.TestAlertRequest(name=args.name))
    finally:
        client.close()
    failed = [d for d in reply.deliveries if not d.ok]
    for delivery in reply.deliveries:
        verdict = "sent" if delivery.ok else "FAILED"
        print(f"{delivery.target}: {verdict} ({delivery.detail}, {delivery.attempts} attempt(s))")
    if failed:
        raise CliError(f"test notification for alert {args.name!r} could not be delivered to "
                       f"{', '.join(d.target for d in failed)}")
    return 0


def _print_list(reply: Any) -> None:
    if not reply.alerts:
        print("No alerts configured (add an `alerts:` list to the evaluator's YAML config).")
        return
    print(f"{'NAME':<28} {'STATE':<8} {'CONDITION':<28} {'SCORER':<24} {'LAST VALUE':<11} LAST FIRED")
    for alert in reply.alerts:
        condition = f"{alert.condition} {alert.threshold:g}"
        if alert.window_seconds:
            condition += f"/{alert.window_seconds:g}s"
        value = f"{alert.last_value:.4g}" if alert.HasField("last_value") else "-"
        print(f"{alert.name:<28} {alert.state:<8} {condition:<28} {alert.scorer:<24} {value:<11} "
              f"{_when(alert)}")


def _when(alert: Any) -> str:
    if not alert.HasField("last_fired_at"):
        return "never"
    seconds = alert.last_fired_at.seconds + alert.last_fired_at.nanos / 1e9
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
