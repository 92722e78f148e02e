"""The ``judgeval`` subcommands. User mistakes end as one line on stderr and exit code 1 or 2."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from judgeval.cli.alerts_command import run_alerts
from judgeval.cli.backfill_command import run_backfill
from judgeval.cli.behaviors_command import run_behaviors
from judgeval.cli.calibration_command import run_calibration
from judgeval.cli.datasets_command import run_datasets
from judgeval.cli.eval_command import run_eval
from judgeval.cli.label_command import run_label
from judgeval.cli.parser import build_parser
from judgeval.cli.scorer_versions_command import (
    VERSION_ACTIONS,
    actor_of,
    run_scorer_versions,
    scorer_pointers,
)
from judgeval.scorers.source_check import TRACE_KIND, ScorerSourceError, select_scorer_class


def run(argv: list[str]) -> int:
    """Parse ``argv`` and run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    from judgeval.cli.admin_client import CliError  # grpc loads only past argument parsing

    try:
        if args.command == "upload_scorer":
            return _upload(args)
        if args.command == "alerts":
            return run_alerts(args)
        if args.command == "behaviors":
            return run_behaviors(args)
        if args.command == "datasets":
            return run_label(args) if args.action == "label" else run_datasets(args)
        if args.command == "eval":
            return run_eval(args)
        if args.command == "backfill":
            return run_backfill(args)
        if args.action == "calibration":
            return run_calibration(args)
        if args.action in VERSION_ACTIONS:
            return run_scorer_versions(args)
        return _scorers(args)
    except CliError as exc:
        print(f"judgeval: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("judgeval: interrupted", file=sys.stderr)
        return 130


def _read(path_text: str, what: str) -> str:
    from judgeval.cli.admin_client import CliError

    path = Path(path_text)
    if not path.is_file():
        raise CliError(f"{what} file not found: {path_text}", 2)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{what} file is not UTF-8 text: {path_text}", 2) from None
    except OSError as exc:
        raise CliError(f"cannot read {what} file {path_text}: {exc.strerror}", 2) from None


def _upload(args: argparse.Namespace) -> int:
    from judgeval.cli.admin_client import UPLOAD_TIMEOUT_S, AdminClient, CliError, Connection, pb

    source = _read(args.scorer_file, "scorer")
    requirements = _read(args.requirements_file, "requirements")
    try:
        found = select_scorer_class(source, args.scorer_file, args.class_name)
    except ScorerSourceError as exc:
        raise CliError(str(exc), 2) from None
    mode = (pb.UPLOAD_MODE_OVERWRITE if args.overwrite
            else pb.UPLOAD_MODE_NEW_VERSION if args.new_version or args.shadow else pb.UPLOAD_MODE_CREATE)
    request = pb.UploadScorerRequest(
        name=args.name or found.scorer_name or found.class_name, source=source,
        source_filename=Path(args.scorer_file).name, requirements=requirements, mode=mode,
        class_name=found.class_name,
        kind=pb.SCORER_KIND_TRACE if found.kind == TRACE_KIND else pb.SCORER_KIND_EXAMPLE,
        shadow=args.shadow, actor=actor_of(args),
    )
    client = AdminClient(Connection.resolve(args.api_url, args.api_key))
    try:
        what = "trace scorer" if found.kind == TRACE_KIND else "scorer"
        print(f"Uploading {what} {found.class_name} as {request.name!r} to {client.connection.shown_url} "
              "(installing requirements may take a while)...", file=sys.stderr)
        version = client.call("UploadScorer", request, timeout=UPLOAD_TIMEOUT_S)
    finally:
        client.close()
    print(f"Uploaded {what} {version.name!r} version {version.version} "
          f"(class {version.class_name}, sha256 {version.sha256[:12]})")
    if args.shadow:
        print(f"Version {version.version} runs in shadow; the current version still scores production. "
              f"Compare with `judgeval scorers compare '{version.name}'`, then `judgeval scorers promote "
              f"'{version.name}@{version.version}'`")
    return 0


def _scorers(args: argparse.Namespace) -> int:
    from judgeval.cli.admin_client import AdminClient, Connection, pb

    client = AdminClient(Connection.resolve(args.api_url, args.api_key))
    try:
        if args.action == "list":
            _print_list(client.call("ListScorers", pb.ListScorersRequest()),
                        scorer_pointers(args.api_url, args.api_key))
        elif args.action == "show":
            reply = client.call("GetScorer", pb.GetScorerRequest(name=args.name, version=args.version))
            _print_show(reply, with_source=args.source)
        else:
            reply = client.call("DeleteScorer", pb.DeleteScorerRequest(name=args.name, version=args.version))
            for deleted in reply.deleted:
                print(f"Deleted scorer {deleted.name!r} version {deleted.version}")
    finally:
        client.close()
    return 0


def _print_list(reply: Any, pointers: dict[str, Any] | None) -> None:
    if not reply.scorers:
        print("No scorers uploaded.")
        return
    print(f"{'NAME':<32} {'VERSIONS':<12} {'CURRENT':<8} {'SHADOW':<7} {'LATEST CLASS':<28} UPLOADED")
    for scorer in reply.scorers:
        latest = scorer.versions[-1]
        versions = ",".join(str(v.version) for v in scorer.versions)
        pointer = (pointers or {}).get(scorer.name)
        current = str(pointer.current_version) if pointer is not None else f"{latest.version}?"
        shadow = str(pointer.shadow_version) if pointer is not None and pointer.HasField("shadow_version") \
            else "-"
        print(f"{scorer.name:<32} {versions:<12} {current:<8} {shadow:<7} {latest.class_name:<28} "
              f"{_when(latest)}")
    if pointers is None:
        print("(current versions unknown: the evaluator does not serve the scorer versions API; '?' marks "
              "the latest version)")


def _print_show(reply: Any, *, with_source: bool) -> None:
    from judgeval.cli.admin_client import pb

    scorer = reply.scorer
    status = pb.InstallStatus.Name(scorer.install_status).removeprefix("INSTALL_STATUS_").lower()
    print(f"name:         {scorer.name}\nversion:      {scorer.version}\nclass:        {scorer.class_name}")
    if scorer.kind != pb.SCORER_KIND_UNSPECIFIED:
        print(f"kind:         {pb.ScorerKind.Name(scorer.kind).removeprefix('SCORER_KIND_').lower()}")
    print(f"file:         {scorer.source_filename}\nsha256:       {scorer.sha256}")
    print(f"uploaded:     {_when(scorer)}\nenvironment:  {status}")
    requirements = [line for line in reply.requirements.splitlines() if line.strip()]
    print("requirements: " + (", ".join(requirements) or "(none)"))
    if with_source:
        print("\n" + reply.source)


def _when(version: Any) -> str:
    seconds = version.created_at.seconds + version.created_at.nanos / 1e9
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
