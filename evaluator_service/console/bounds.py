"""Bounds on what one hostile or oversized span can make the console keep.

Span attributes are the sender's to choose: an agent name of a megabyte, a new service name on every span, an
example holding a whole document. :func:`bounded_record` cuts the rollup dimensions to
:data:`MAX_DIMENSION_CHARS` and every string of the stored example (and the reason) to
``console_data.max_field_chars``, saying how much was cut; the recorder folds rollup keys beyond
``console_data.max_rollup_keys`` per flush into :data:`OTHER`, so counts are never lost, only their detail.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from judgeval.protocol.interaction_record import InteractionRecord

MAX_DIMENSION_CHARS = 200
"""Scorer, agent, service and environment values are cut to this length."""
OTHER = "(other)"
"""The dimension value of counts folded together once a flush interval holds too many distinct keys."""


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def bounded_record(record: InteractionRecord, max_field_chars: int) -> InteractionRecord:
    """``record`` with over-long dimensions, example strings and reason cut (itself when nothing is)."""
    dims = {name: getattr(record, name) for name in ("scorer", "agent", "service", "environment")}
    long_dims = {name: value[:MAX_DIMENSION_CHARS] for name, value in dims.items()
                 if len(value) > MAX_DIMENSION_CHARS}
    example = _bounded_value(record.example, max_field_chars)
    reason = cut(record.reason, max_field_chars)
    if not long_dims and example is record.example and reason is record.reason:
        return record
    return dataclasses.replace(record, **long_dims, example=example, reason=reason)


def _bounded_value(value: Any, limit: int) -> Any:
    """``value`` with every string in it cut to ``limit`` (the same object when nothing is cut)."""
    if isinstance(value, str):
        return cut(value, limit)
    if isinstance(value, dict):
        items = {k: _bounded_value(v, limit) for k, v in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    if isinstance(value, list):
        elements = [_bounded_value(v, limit) for v in value]
        return value if all(a is b for a, b in zip(elements, value, strict=True)) else elements
    return value
