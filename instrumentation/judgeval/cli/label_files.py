"""Reading a labels file for ``judgeval datasets label NAME --from-file``: CSV (header ``record_id,label``
and optionally ``note``) or JSON Lines (one object per line with ``record_id`` and ``label``, optionally
``note``). ``id`` is accepted for ``record_id``, so a dataset's JSONL export with a ``label`` key added
imports as it is. A malformed file is refused as a whole, naming its first problems: nothing is sent."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from judgeval.errors import JudgevalError

LABELS = ("pass", "fail")
MAX_PROBLEMS_SHOWN = 5


class LabelFileError(JudgevalError):
    """The labels file cannot be read or holds malformed lines; the message names them."""


@dataclass(frozen=True, slots=True)
class FileLabel:
    """One line of a labels file."""

    record_id: str
    label: str
    note: str = ""


def read_label_file(path: Path) -> list[FileLabel]:
    """Every label of ``path`` (``.csv``, or ``.jsonl``/``.json``/``.ndjson``); :class:`LabelFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelFileError(f"labels file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFileError(f"cannot read labels file {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(text)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        rows = _jsonl_rows(text)
    else:
        raise LabelFileError(f"labels file {path}: expected a .csv or .jsonl file")
    labels, problems = [], []
    for line, row in rows:
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        record_id = str(row.get("record_id") or row.get("id") or "").strip()
        label = str(row.get("label") or "").strip().lower()
        if not record_id:
            problems.append(f"line {line}: no record_id")
        elif label not in LABELS:
            problems.append(f"line {line}: label must be pass or fail, got {row.get('label')!r}")
        else:
            labels.append(FileLabel(record_id, label, str(row.get("note") or "")))
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        hidden = len(problems) - MAX_PROBLEMS_SHOWN
        more = f" (and {hidden} more)" if hidden > 0 else ""
        raise LabelFileError(f"labels file {path}: {shown}{more}; nothing was sent")
    if not labels:
        raise LabelFileError(f"labels file {path} holds no labels")
    return labels


def _csv_rows(text: str) -> list[tuple[int, dict[str, str] | str]]:
    reader = csv.DictReader(text.splitlines())
    fields = {name.strip() for name in reader.fieldnames or ()}
    if not fields & {"record_id", "id"} or "label" not in fields:
        raise LabelFileError("a labels CSV needs a header with record_id (or id) and label columns, "
                             f"got {sorted(fields) or 'none'}")
    return [(reader.line_num, {k.strip(): v for k, v in row.items() if k}) for row in reader]


def _jsonl_rows(text: str) -> list[tuple[int, dict[str, str] | str]]:
    rows: list[tuple[int, dict[str, str] | str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, f"not JSON ({exc.msg})"))
            continue
        rows.append((number, value if isinstance(value, dict) else "not a JSON object"))
    return rows
