"""Reading interaction records (``judgeval.protocol.interaction_record``) from a JSON Lines file.

One :class:`~judgeval.protocol.interaction_record.InteractionRecord` JSON object per line, as dataset
exports write them; blank lines are skipped. A line that is not a record is an :class:`EvaluationError`
naming the file, the line and the field, so nothing is silently left out of a replay.
"""

from __future__ import annotations

import json
from pathlib import Path

from judgeval.evaluation.errors import EvaluationError
from judgeval.protocol.interaction_record import InteractionRecord, InvalidInteractionRecord


def read_records(path: str | Path) -> list[InteractionRecord]:
    """Every record in ``path`` (JSON Lines), in file order."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvaluationError(f"records file not found: {path}", bad_input=True) from None
    except UnicodeDecodeError:
        raise EvaluationError(f"records file is not UTF-8 text: {path}", bad_input=True) from None
    except OSError as exc:
        raise EvaluationError(f"cannot read records file {path}: {exc.strerror}", bad_input=True) from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(InteractionRecord.from_json(json.loads(line)))
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and InvalidInteractionRecord too
            what = "not an interaction record" if isinstance(exc, InvalidInteractionRecord) else "not JSON"
            raise EvaluationError(f"{path}:{number}: {what}: {exc}", bad_input=True) from None
    return records
