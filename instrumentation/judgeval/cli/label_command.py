"""``judgeval datasets label NAME``: people label a dataset's examples pass or fail, one by one at the
terminal (each example's input, output and the judge's verdict and reason; answer pass, fail, skip or quit)
or in bulk ``--from-file labels.csv|labels.jsonl``. Each answer is stored as it is given, so quitting (or a
closed stdin) loses nothing already answered.

The parser part imports nothing heavy; gRPC and the stubs load only when the command runs.
"""

from __future__ import annotations

import argparse
import getpass
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from judgeval.protocol.interaction_record import InteractionRecord

ANSWERS = {"p": "pass", "pass": "pass", "f": "fail", "fail": "fail", "s": "skip", "skip": "skip",
           "q": "quit", "quit": "quit"}
SHOWN_CHARS = 600
PAGE_SIZE = 1000
"""Unlabeled examples asked for at a time; the next page is asked for when these are answered."""


def add_label_action(actions: Any, connection: argparse.ArgumentParser) -> None:
    """Register ``label`` on the ``datasets`` actions (``connection`` adds --api-url/--api-key)."""
    label = actions.add_parser("label", parents=[connection],
                               help="label a dataset's examples pass/fail (interactive, or --from-file)")
    label.add_argument("name", metavar="NAME", help="the dataset")
    label.add_argument("--from-file", metavar="FILE",
                       help="labels.csv (record_id,label[,note]) or labels.jsonl ({record_id, label, note})")
    label.add_argument("--sample", type=int, default=0, metavar="N",
                       help="label a random sample of N unlabeled examples (default: all, oldest first)")
    label.add_argument("--scorer", metavar="NAME", help="only examples of this scorer")
    label.add_argument("--labeler", default=None, help="who labels (default: your login name)")


def run_label(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """Run ``datasets label``; returns the exit code."""
    from judgeval.admin.v1 import calibration_pb2 as pb
    from judgeval.admin.v1 import calibration_pb2_grpc as pb_grpc
    from judgeval.cli.admin_client import AdminClient, CliError, Connection
    from judgeval.cli.label_files import LabelFileError, read_label_file

    if args.sample < 0:
        raise CliError("--sample must be a positive number of examples", 2)
    labels_from_file = None
    if args.from_file:
        try:
            labels_from_file = read_label_file(Path(args.from_file))
        except LabelFileError as exc:
            raise CliError(str(exc), 2) from None
    client = AdminClient(Connection.resolve(args.api_url, args.api_key), stub_factory=pb_grpc.CalibrationStub,
                         api_name="judgeval calibration API")
    labeler = args.labeler or _login()
    try:
        if labels_from_file is not None:
            request = pb.LabelExamplesRequest(dataset=args.name, labeler=labeler, labels=[
                pb.LabelInput(record_id=x.record_id, label=x.label, note=x.note) for x in labels_from_file])
            return _report(client.call("LabelExamples", request), len(labels_from_file))
        if args.sample > PAGE_SIZE:
            raise CliError(f"--sample must be at most {PAGE_SIZE} examples", 2)
        first = pb.ExamplesToLabelRequest(dataset=args.name, sample=args.sample, scorer=args.scorer or "",
                                          limit=PAGE_SIZE)
        todo = client.call("ExamplesToLabel", first)
        return _interactive(client, args.name, labeler, _pages(client, first, todo), stdin or sys.stdin,
                            out or sys.stdout)
    finally:
        client.close()


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return ""


def _report(reply: Any, sent: int) -> int:
    print(f"Stored {reply.stored} of {sent} labels.")
    for problem in reply.problems:
        print(f"judgeval: refused label for {problem.record_id}: {problem.problem}", file=sys.stderr)
    return 1 if reply.problems else 0


def _pages(client: Any, request: Any, first: Any) -> Iterator[Any]:
    """The answers of ``ExamplesToLabel``, the next page asked for only once the previous one is used."""
    page = first
    while True:
        yield page
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token
        page = client.call("ExamplesToLabel", request)


def _interactive(client: Any, dataset: str, labeler: str, pages: Iterator[Any], stdin: TextIO,
                 out: TextIO) -> int:
    from judgeval.admin.v1 import calibration_pb2 as pb

    todo = next(pages)
    total = len(todo.examples) if todo.next_page_token == "" and len(todo.examples) < todo.unlabeled \
        else todo.unlabeled
    print(f"Dataset {dataset!r}: {todo.unlabeled} unlabeled, {todo.labeled} labeled; labeling {total}."
          "\nAnswer p (pass), f (fail), s (skip) or q (quit); a note may follow, e.g. \"f rude tone\".",
          file=out)
    records = (InteractionRecord.from_json(json.loads(e.record_json))
               for page in itertools.chain([todo], pages) for e in page.examples)
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for index, record in enumerate(records, start=1):
        print(f"\n[{index}/{total}] {describe(record)}", file=out)
        answer, note = _ask(stdin, out)
        if answer == "quit":
            break
        counts[answer] += 1
        if answer == "skip":
            continue
        one = pb.LabelInput(record_id=record.id, label=answer, note=note)
        reply = client.call("LabelExamples",
                            pb.LabelExamplesRequest(dataset=dataset, labeler=labeler, labels=[one]))
        for problem in reply.problems:
            print(f"judgeval: refused label for {problem.record_id}: {problem.problem}", file=sys.stderr)
    print(f"\nLabeled {counts['pass'] + counts['fail']} ({counts['fail']} fail, {counts['pass']} pass), "
          f"skipped {counts['skip']}.", file=out)
    return 0


def _ask(stdin: TextIO, out: TextIO) -> tuple[str, str]:
    """The next answer and note; end of input is ``quit``."""
    while True:
        print("label [p/f/s/q]? ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            print("", file=out)
            return "quit", ""
        word, _, note = line.strip().partition(" ")
        answer = ANSWERS.get(word.lower())
        if answer is not None:
            return answer, note.strip()
        print(f"  {word!r} is not an answer: p (pass), f (fail), s (skip) or q (quit)", file=out)


def describe(record: InteractionRecord) -> str:
    """One example as the labeler sees it: where it came from, its fields, the judge's verdict."""
    where = " ".join(part for part in (f"service {record.service}" if record.service else "",
                                       f"agent {record.agent}" if record.agent else "") if part)
    lines = [f"scorer {record.scorer}  trace {record.trace_id}  span {record.span_id}  {where}".rstrip()]
    example = dict(record.example)
    for key, shown_as in (("input", "input: "), ("actual_output", "output:")):
        if key in example:
            lines.append(f"  {shown_as}  {_shown(example.pop(key))}")
    for key, value in example.items():
        lines.append(f"  {key}: {_shown(value)}")
    if record.passed is None:
        verdict = f"no verdict ({record.error_kind or 'error'})"
    else:
        score = f"score {record.score:g}, " if record.score is not None else ""
        verdict = f"{'PASS' if record.passed else 'FAIL'} ({score}threshold {record.threshold:g})"
    lines.append(f"  judge:   {verdict}")
    if record.reason:
        lines.append(f"  reason:  {_shown(record.reason)}")
    return "\n".join(lines)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
