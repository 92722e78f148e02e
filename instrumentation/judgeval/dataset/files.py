"""Dataset files: interaction records as ``jsonl``, ``csv`` or ``parquet``, written and read back exactly.

- ``jsonl``: one :meth:`InteractionRecord.to_json` object per line (``id`` included for readers).
- ``csv``: one row per record, the columns of :data:`COLUMNS`; ``example`` and ``attributes`` hold JSON
  objects, an empty cell is ``null`` for the fields that may be null.
- ``parquet`` (the ``datasets`` extra: ``pip install 'judgeval-otel[datasets]'``): the same columns, typed
  (``at``, ``threshold``, ``score``: double; ``passed``: bool; ``scorer_version``: int64).

Reading is strict: the first bad line or row raises :class:`DatasetFileError` naming the file, the line (or
row) and the field, and nothing is returned.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from judgeval.errors import JudgevalError
from judgeval.protocol.interaction_record import InteractionRecord, InvalidInteractionRecord

__all__ = ["COLUMNS", "FORMATS", "DatasetError", "DatasetFileError", "format_of", "read_records",
           "write_records"]

FORMATS = ("jsonl", "csv", "parquet")
COLUMNS = ("id", "scorer", "trace_id", "span_id", "at", "threshold", "score", "passed", "reason",
           "error_kind", "scorer_version", "scope", "service", "agent", "environment", "behavior_id",
           "example", "attributes")
_NUMBERS = frozenset({"at", "threshold", "score"})
_JSON_COLUMNS = frozenset({"example", "attributes"})
_NULLABLE = frozenset({"score", "passed", "error_kind", "scorer_version", "behavior_id"})
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
EXTRA_HINT = "pip install 'judgeval-otel[datasets]'"
PARQUET_ROW_GROUP = 1000
"""Records per parquet row group: a parquet file is written a group at a time."""


class DatasetError(JudgevalError):
    """A dataset could not be pulled, read or built; the message says what to do."""


class DatasetFileError(DatasetError, ValueError):
    """A dataset file that cannot be read: the message names the file, line or row, and field."""


def format_of(path: str | Path, explicit: str | None = None) -> str:
    """``explicit`` if given, else the format the file's suffix names; :class:`DatasetFileError` if none."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise DatasetFileError(f"unknown format {explicit!r}: use one of {', '.join(FORMATS)}")
        return explicit
    found = _SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise DatasetFileError(f"{path}: cannot tell the format from the suffix; name the file .jsonl, .csv "
                               "or .parquet, or pass --format")
    return found


def write_records(records: Iterable[InteractionRecord], out: IO[str] | IO[bytes] | Path, fmt: str) -> int:
    """Write ``records`` to a text stream (jsonl, csv) or a path (any format); returns how many."""
    if fmt == "parquet":
        if not isinstance(out, Path):
            raise DatasetFileError("parquet is binary: write it to a file (-o FILE.parquet)")
        return _write_parquet(records, out)
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="") as stream:
            return write_records(records, stream, fmt)
    text: Any = out
    if fmt == "jsonl":
        count = 0
        for record in records:
            text.write(json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
        return count
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    count = 0
    for record in records:
        writer.writerow([_cell(name, value) for name, value in _row(record).items()])
        count += 1
    return count


def read_records(path: str | Path, fmt: str | None = None) -> list[InteractionRecord]:
    """Every record of the file, in order; :class:`DatasetFileError` for the first bad one."""
    path = Path(path)
    chosen = format_of(path, fmt)
    if not path.is_file():
        raise DatasetFileError(f"{path}: no such file")
    if chosen == "parquet":
        return _read_parquet(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise DatasetFileError(f"{path}: {exc.strerror or exc}") from None
    if chosen == "jsonl":
        return list(_read_jsonl(path, text))
    return list(_read_csv(path, text))


def _row(record: InteractionRecord) -> dict[str, Any]:
    data = record.to_json()
    return {name: data[name] for name in COLUMNS}


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in _JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _read_jsonl(path: Path, text: str) -> Iterator[InteractionRecord]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetFileError(
                f"{path} line {number}: not JSON ({exc.msg} at column {exc.colno})") from None
        yield _record(data, f"{path} line {number}")


def _read_csv(path: Path, text: str) -> Iterator[InteractionRecord]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    _check_columns(path, reader.fieldnames or [])
    for row in reader:
        where = f"{path} line {reader.line_num}"
        if None in row:
            raise DatasetFileError(f"{where}: more cells than the {len(COLUMNS)} columns")
        yield _record({name: _parse_cell(name, row[name], where) for name in COLUMNS}, where)


def _check_columns(path: Path, names: Iterable[str]) -> None:
    present = list(names)
    missing = [c for c in COLUMNS if c not in present]
    unknown = [c for c in present if c not in COLUMNS]
    if missing or unknown:
        problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
        raise DatasetFileError(f"{path}: {'; '.join(problems)} (expected: {', '.join(COLUMNS)})")


def _parse_cell(name: str, cell: str | None, where: str) -> Any:
    if cell is None or (cell == "" and name in _NULLABLE):
        return None
    try:
        if name in _JSON_COLUMNS:
            return json.loads(cell)
        if name in _NUMBERS:
            return float(cell)
        if name == "scorer_version":
            return int(cell)
    except ValueError:
        kind = "a JSON object" if name in _JSON_COLUMNS else "an integer" if name == "scorer_version" \
            else "a number"
        raise DatasetFileError(f"{where}: field {name!r} must be {kind}, got {cell!r}") from None
    if name == "passed":
        if cell not in ("true", "false"):
            raise DatasetFileError(f"{where}: field 'passed' must be true, false or empty, got {cell!r}")
        return cell == "true"
    return cell


def _record(data: Any, where: str) -> InteractionRecord:
    try:
        record = InteractionRecord.from_json(data)
    except (InvalidInteractionRecord, TypeError) as exc:
        raise DatasetFileError(f"{where}: {exc}") from None
    if isinstance(data, dict) and data.get("id") not in (None, record.id):
        raise DatasetFileError(f"{where}: field 'id' is {data['id']!r} but trace_id:span_id:scorer is "
                               f"{record.id!r}")
    return record


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise DatasetError(f"parquet needs pyarrow: {EXTRA_HINT}") from None
    return pyarrow


def _write_parquet(records: Iterable[InteractionRecord], path: Path) -> int:
    """Write ``records`` a row group of ``PARQUET_ROW_GROUP`` at a time (never all of them in memory)."""
    pa = _pyarrow()
    types = {"at": pa.float64(), "threshold": pa.float64(), "score": pa.float64(), "passed": pa.bool_(),
             "scorer_version": pa.int64()}
    schema = pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])
    count, stream = 0, iter(records)
    with pa.parquet.ParquetWriter(path, schema) as writer:
        while group := list(itertools.islice(stream, PARQUET_ROW_GROUP)):
            rows = [_row(r) for r in group]
            for row in rows:
                for name in _JSON_COLUMNS:
                    row[name] = json.dumps(row[name], ensure_ascii=False, sort_keys=True)
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
    return count


def _read_parquet(path: Path) -> list[InteractionRecord]:
    pa = _pyarrow()
    try:
        table = pa.parquet.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetFileError(f"{path}: not a readable parquet file ({exc})") from None
    _check_columns(path, table.column_names)
    records = []
    for number, row in enumerate(table.to_pylist(), 1):
        where = f"{path} row {number}"
        for name in _JSON_COLUMNS:
            row[name] = _parse_cell(name, row[name], where) if isinstance(row[name], str) else row[name]
        records.append(_record(row, where))
    return records
