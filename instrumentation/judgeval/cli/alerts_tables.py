"""Readable tables for ``judgeval alerts`` replies, and their JSON form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def to_json(message: Any) -> str:
    """protobuf's canonical JSON mapping (field names as in the .proto), indented."""
    from google.protobuf.json_format import MessageToDict

    return json.dumps(MessageToDict(message, preserving_proto_field_name=True), indent=2, sort_keys=True)


def when(stamp: Any) -> str:
    if stamp is None or (stamp.seconds == 0 and stamp.nanos == 0):
        return "-"
    return datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _value(message: Any, field: str) -> str:
    return f"{getattr(message, field):.4g}" if message.HasField(field) else "-"


def print_list(reply: Any) -> None:
    if not reply.alerts:
        print("No alerts configured (add an `alerts:` list to the evaluator's YAML config).")
        return
    print(f"{'NAME':<26} {'STATE':<9} {'SEVERITY':<9} {'SINCE (UTC)':<20} {'VALUE':<8} CONDITION")
    for a in reply.alerts:
        since = when(a.state_since) if a.HasField("state_since") else "-"
        print(f"{a.name:<26} {a.state:<9} {a.severity or '-':<9} {since:<20} {_value(a, 'last_value'):<8} "
              f"{a.description}")


def print_show(reply: Any) -> None:
    a = reply.alert
    rows = [("name", a.name), ("state", a.state + (f" ({a.severity})" if a.severity else "")),
            ("since", when(a.state_since) if a.HasField("state_since") else "-"),
            ("condition", a.description), ("scorer", a.scorer), ("filter", ", ".join(a.where) or "-"),
            ("for", f"{a.for_seconds:g}s"), ("renotify", f"{a.renotify_seconds:g}s" if a.renotify_seconds
                                              else "never"),
            ("recovery", "on" if a.recovery else "off"), ("notify", ", ".join(a.targets)),
            ("last value", _value(a, "last_value")), ("fired", str(a.fired_count)),
            ("episode", a.episode or "-")]
    for label, value in rows:
        print(f"{label + ':':<12} {value}")
    if a.circuits:
        print(f"\nchannels (circuit breakers of replica {a.circuits[0].replica}):")
        for c in a.circuits:
            print(f"  {c.channel} ({c.target}): {_circuit(c)}")
    if reply.silences:
        print("\nsilenced by:")
        print_silences(reply)
    print("\nrecent history:")
    print_history(reply.history)


def _circuit(c: Any) -> str:
    failures = f"{c.consecutive_failures} of {c.failure_threshold} consecutive failed tries"
    last = f" (last: {c.last_failure})" if c.last_failure else ""
    if c.state == "open":
        return f"OPEN until {when(c.next_probe_at)} UTC, then one probe; {failures}{last}"
    if c.state == "half_open":
        return f"HALF-OPEN: a probe is in flight; {failures}{last}"
    return f"closed; {failures}{last}" if c.consecutive_failures else "closed"


def print_history(reply: Any) -> None:
    rows = reply.transitions if hasattr(reply, "transitions") else reply
    if not rows:
        print("No transitions yet.")
        return
    print(f"{'AT (UTC)':<20} {'ALERT':<24} {'TRANSITION':<20} {'SEVERITY':<9} {'VALUE':<8} NOTIFICATION")
    for t in rows:
        move = f"{t.from_state} > {t.to_state}"
        print(f"{when(t.at):<20} {t.alert:<24} {move:<20} {t.severity or '-':<9} {_value(t, 'observed'):<8} "
              f"{_notification(t)}")


def _notification(t: Any) -> str:
    if not t.kind:
        return "-"
    if t.silenced_by:
        return f"{t.kind}: silenced by {t.silenced_by}"
    if not t.channels:
        return f"{t.kind}: logged"
    parts = [f"{c.channel} {c.status} ({c.attempts} attempt{'s' if c.attempts != 1 else ''})"
             for c in t.channels]
    return f"{t.kind}: " + ", ".join(parts)


def print_silences(reply: Any) -> None:
    if not reply.silences:
        print("No active or upcoming silences.")
        return
    print(f"{'ID':<18} {'STATUS':<9} {'STARTS (UTC)':<20} {'ENDS (UTC)':<20} {'MATCHERS':<36} COMMENT")
    for s in reply.silences:
        matchers = ",".join(f"{k}={v}" for k, v in sorted(s.matchers.items()))
        status = "active" if s.active else "upcoming"
        print(f"{s.id:<18} {status:<9} {when(s.starts_at):<20} {when(s.ends_at):<20} {matchers:<36} "
              f"{s.comment}")
