"""Turning arbitrary Python values into size-capped JSON strings for span attributes.

Runs on the caller's thread, so it must be cheap and must never raise: anything ``json`` cannot encode
falls back to a pydantic dump or ``repr``; a failure becomes a placeholder string.
"""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger("judgeval")

TRUNCATION_MARK = "…[truncated]"


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` characters, marking the cut."""
    if len(text) <= max_chars:
        return text
    keep = max(0, max_chars - len(TRUNCATION_MARK))
    return text[:keep] + TRUNCATION_MARK


def _fallback(value: Any) -> Any:
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        try:
            return model_dump(mode="json")
        except Exception:  # a broken model still gets a repr below
            pass
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


def to_json(value: Any, max_chars: int) -> str:
    """JSON of ``value`` (non-JSON objects as their pydantic dump or ``repr``), capped at ``max_chars``."""
    try:
        text = json.dumps(value, default=_fallback, ensure_ascii=False)
    except Exception as exc:  # e.g. circular references; never break the user's call
        logger.debug("could not serialize %s: %s", type(value).__name__, exc)
        text = json.dumps(f"<unserializable {type(value).__name__}>")
    return truncate(text, max_chars)
