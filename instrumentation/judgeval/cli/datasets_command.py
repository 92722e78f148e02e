"""``judgeval datasets list | show NAME[@V] | export | import | add --trace | rm``: the evaluator's
``judgeval.admin.v1.Datasets`` API and dataset files (jsonl, csv, parquet; see :mod:`judgeval.dataset.files`).

The parser part imports nothing heavy; gRPC and the stubs load only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMATS = ("jsonl", "csv", "parquet")
IMPORT_CHUNK_BYTES = 2 * 1024 * 1024
"""Records per AddRecords call are bounded by size (the admin API's message limit is larger)."""


def add_datasets_commands(commands: Any, connection: argparse.ArgumentParser) -> Any:
    """Register the ``datasets`` actions (``connection`` adds --api-url/--api-key); returns the actions, for
    commands other modules add (``label``)."""
    datasets = commands.add_parser("datasets", help="production examples kept by the evaluator: list, show, "
                                   "export, import, add --trace, rm, label")
    actions = datasets.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, parents=[connection], help=help_text)  # type: ignore[no-any-return]

    action("list", "list datasets with their current version and size").add_argument(
        "--json", action="store_true", help="print the API's answer as JSON")
    show = action("show", "show a dataset (NAME or NAME@VERSION): versions and examples")
    show.add_argument("ref", metavar="NAME[@VERSION]")
    show.add_argument("--limit", type=int, default=20, help="examples shown (default 20, 0: none)")
    show.add_argument("--scorer", help="only examples of this scorer")
    show.add_argument("--outcome", choices=["passed", "failed", "error"],
                      help="only examples with this outcome")
    show.add_argument("--json", action="store_true", help="print the dataset and examples as JSON")
    export = action("export", "write a dataset version to a file (or stdout) as jsonl, csv or parquet")
    export.add_argument("ref", metavar="NAME[@VERSION]")
    export.add_argument("--format", choices=FORMATS, help="default: from -o's suffix, else jsonl")
    export.add_argument("-o", "--output", metavar="FILE", help="default: stdout (jsonl and csv only)")
    imports = action("import", "add the records of an exported file (jsonl, csv, parquet) to a dataset")
    imports.add_argument("name")
    imports.add_argument("file")
    imports.add_argument("--format", choices=FORMATS, help="default: from the file's suffix")
    imports.add_argument("--description", default="", help="set the dataset's description")
    add = action("add", "add the scored interactions of one trace to a dataset")
    add.add_argument("name")
    add.add_argument("--trace", required=True, metavar="TRACE_ID", help="32 hex digits")
    add.add_argument("--from", dest="source", metavar="FILE",
                     help="take the trace's records from this records file instead of the trace backend")
    remove = action("rm", "delete a dataset, or remove examples from it (a new version)")
    remove.add_argument("name")
    remove.add_argument("--example", action="append", metavar="RECORD_ID",
                        help="remove this example (trace:span:scorer) only; repeatable")
    return actions


def run_datasets(args: argparse.Namespace) -> int:
    """Run one ``datasets`` action; returns the exit code."""
    from judgeval.cli.admin_client import CliError
    from judgeval.dataset.files import DatasetError, DatasetFileError
    from judgeval.protocol.dataset_ref import InvalidDatasetRef

    try:
        return _run(args)
    except (DatasetFileError, InvalidDatasetRef) as exc:
        raise CliError(str(exc), 2) from None
    except DatasetError as exc:
        raise CliError(str(exc), 2) from None


def _run(args: argparse.Namespace) -> int:
    from judgeval.dataset.files import format_of, read_records
    from judgeval.dataset.remote import datasets_client
    from judgeval.protocol.dataset_ref import DatasetRef, dataset_name_problem

    if args.action in ("import", "add", "rm") and (problem := dataset_name_problem(args.name)):
        from judgeval.cli.admin_client import CliError

        raise CliError(problem, 2)
    ref = DatasetRef.parse(args.ref) if args.action in ("show", "export") else None
    records = None
    if args.action == "import":  # read (and reject) the file before touching the evaluator
        records = read_records(args.file, args.format)
    if args.action == "export":
        fmt = args.format or (format_of(args.output) if args.output else "jsonl")
        if fmt == "parquet" and not args.output:
            from judgeval.cli.admin_client import CliError

            raise CliError("parquet is binary: pass -o FILE.parquet", 2)
    if args.action == "add" and args.source:
        records = _trace_records(read_records(args.source), args.trace, args.source)
    client = datasets_client(args.api_url, args.api_key)
    try:
        if args.action == "list":
            _list(client, args.json)
        elif args.action == "show":
            assert ref is not None
            _show(client, ref.name, ref.version, args)
        elif args.action == "export":
            assert ref is not None
            _export(client, ref.name, ref.version, fmt, args.output)
        elif args.action in ("import", "add") and records is not None:
            _import(client, args.name, records, getattr(args, "description", ""))
        elif args.action == "add":
            _add_trace(client, args.name, args.trace)
        else:
            _remove(client, args.name, args.example)
    finally:
        client.close()
    return 0


def _trace_records(records: list[Any], trace_id: str, source: str) -> list[Any]:
    from judgeval.cli.admin_client import CliError

    wanted = trace_id.strip().lower()
    chosen = [r for r in records if r.trace_id == wanted]
    if not chosen:
        raise CliError(f"{source} holds no record of trace {trace_id}", 1)
    return chosen


def _list(client: Any, as_json: bool) -> None:
    from judgeval.admin.v1 import datasets_pb2 as pb

    reply = client.call("ListDatasets", pb.ListDatasetsRequest())
    if as_json:
        _print_json(reply)
        return
    if not reply.datasets:
        print("No datasets yet (rules under `datasets:` in the evaluator config fill them; "
              "`judgeval datasets import` adds files).")
        return
    print(f"{'NAME':<28} {'VERSION':>7} {'EXAMPLES':>8}  {'RETENTION':<18} {'UPDATED':<20} DESCRIPTION")
    for d in reply.datasets:
        print(f"{d.name:<28} {d.version:>7} {d.example_count:>8}  {_retention(d):<18} "
              f"{_when(d.updated_at):<20} {d.description}")


def _show(client: Any, name: str, version: int | None, args: argparse.Namespace) -> None:
    from judgeval.admin.v1 import datasets_pb2 as pb

    dataset = client.call("GetDataset", pb.GetDatasetRequest(name=name, version=version or 0))
    page = None
    if args.limit > 0:
        page = client.call("ListExamples", pb.ListExamplesRequest(
            name=name, version=dataset.version, limit=min(args.limit, 1000), scorer=args.scorer or "",
            outcome=args.outcome or ""))
    if args.json:
        from google.protobuf.json_format import MessageToDict

        out = MessageToDict(dataset, preserving_proto_field_name=True)
        out["examples"] = [json.loads(e.record_json) for e in page.examples] if page else []
        print(json.dumps(out, indent=2))
        return
    print(f"name:        {dataset.name}\nversion:     {dataset.version} (latest {dataset.latest_version})")
    print(f"examples:    {dataset.example_count}\nretention:   {_retention(dataset)}")
    print(f"created:     {_when(dataset.created_at)}\ndescription: {dataset.description or '-'}")
    print("\nVERSION  WHEN                  ADDED  REMOVED  WHY")
    for v in dataset.versions:
        print(f"{v.version:>7}  {_when(v.at):<20} {v.added:>6} {v.removed:>8}  {v.note}")
    if page is None:
        return
    print("\nexamples (an example's id for `rm --example` is TRACE_ID:SPAN_ID:SCORER):")
    print(f"{'TRACE_ID':<32} {'SPAN_ID':<16} {'SCORER':<20} {'SCORE':>5} {'RESULT':<6} {'INPUT':<30} REASON")
    for e in page.examples:
        r = json.loads(e.record_json)
        result = "error" if r["passed"] is None else ("pass" if r["passed"] else "fail")
        score = "-" if r["score"] is None else f"{r['score']:.2f}"
        text = r["example"].get("input", next(iter(r["example"].values()), "")) if r["example"] else ""
        print(f"{r['trace_id']:<32} {r['span_id']:<16} {_cut(r['scorer'], 20):<20} {score:>5} {result:<6} "
              f"{_cut(text, 30):<30} {_cut(r['reason'], 60)}")
    if page.next_page_token:
        print(f"... more: `judgeval datasets export {name}@{dataset.version}` writes them all")


def _export(client: Any, name: str, version: int | None, fmt: str, output: str | None) -> None:
    """Write the dataset a page at a time as it arrives: an export never holds the dataset in memory."""
    from judgeval.dataset.files import write_records
    from judgeval.dataset.remote import record_pages

    chosen = [version or 0]

    def records() -> Iterator[Any]:
        for chosen[0], page in record_pages(client, name, version):
            yield from page

    if output is None:
        count = write_records(records(), sys.stdout, fmt)
    else:  # a file appears only whole: an export cut off midway leaves no half file behind
        target = Path(output)
        partial = target.with_name(f".{target.name}.partial")
        try:
            count = write_records(records(), partial, fmt)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    where = output or "stdout"
    print(f"Exported {count} records of {name}@{chosen[0]} to {where} ({fmt})", file=sys.stderr)


def _import(client: Any, name: str, records: list[Any], description: str) -> None:
    from judgeval.admin.v1 import datasets_pb2 as pb

    added = unchanged = redactions = 0
    version = None
    for chunk in _chunks([json.dumps(r.to_json(), sort_keys=True) for r in records]):
        change = client.call("AddRecords", pb.AddRecordsRequest(name=name, records_json=chunk,
                                                                description=description))
        added, unchanged = added + change.added, unchanged + change.unchanged
        redactions, version = redactions + change.redactions, change.version
    print(f"Added {added} records to {name} ({unchanged} already there), now version {version}"
          + (f"; {redactions} PII replacements" if redactions else ""))


def _add_trace(client: Any, name: str, trace_id: str) -> None:
    from judgeval.admin.v1 import datasets_pb2 as pb

    reply = client.call("AddTrace", pb.AddTraceRequest(name=name, trace_id=trace_id))
    change = reply.change
    print(f"Added {change.added} records of trace {trace_id} to {name} ({change.unchanged} already there), "
          f"now version {change.version}")


def _remove(client: Any, name: str, examples: list[str] | None) -> None:
    from judgeval.admin.v1 import datasets_pb2 as pb
    from judgeval.cli.admin_client import CliError

    if not examples:
        client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name))
        print(f"Deleted dataset {name} with every version")
        return
    change = client.call("RemoveExamples", pb.RemoveExamplesRequest(name=name, record_ids=examples))
    if not change.removed:
        raise CliError(f"{name} holds none of those examples (ids are trace:span:scorer; "
                       f"`judgeval datasets export {name}` lists them)")
    print(f"Removed {change.removed} example(s) from {name}, now version {change.version}")


def _chunks(items: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    size = 0
    for item in items:
        if chunks[-1] and size + len(item) > IMPORT_CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item)
    return chunks


def _retention(d: Any) -> str:
    parts = ([f"{d.max_examples} max"] if d.max_examples else []) + (
        [f"{d.max_age_s / 3600:g}h"] if d.max_age_s else [])
    return ", ".join(parts) or "none"


def _cut(text: Any, width: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def _when(stamp: Any) -> str:
    seconds = stamp.seconds + stamp.nanos / 1e9
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _print_json(message: Any) -> None:
    from google.protobuf.json_format import MessageToDict

    print(json.dumps(MessageToDict(message, preserving_proto_field_name=True), indent=2))
