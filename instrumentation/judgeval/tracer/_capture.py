"""Turning arbitrary Python values into size-capped JSON strings for span attributes.

Runs on the caller's thread, so it must be cheap and must never raise: anything ``json`` cannot encode
falls back to a pydantic dump or ``repr``; a failure becomes a placeholder string.
"""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

logger = logging.getLogger("judgeval")

TRUNCATION_MARK = "…[truncated]"
_PREFIX_DEPTH = 4  # deeper values are serialized whole (and then cut): rare, and bounded recursion


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


def _prefix(value: Any, max_chars: int, depth: int = 0) -> Any:
    """``value`` cut down to what can show in the first ``max_chars`` characters of its JSON.

    Every character of a string and every item of a container adds at least one character to the JSON,
    so keeping the first ``max_chars`` of each leaves the capped text unchanged while a huge argument is
    no longer serialized in full on the caller's thread.
    """
    if isinstance(value, str):
        return value[: max_chars + 1]
    if depth >= _PREFIX_DEPTH:
        return value
    if type(value) in (list, tuple):
        return [_prefix(item, max_chars, depth + 1) for item in value[:max_chars]]
    if type(value) is dict:
        items = itertools.islice(value.items(), max_chars)
        return {key: _prefix(item, max_chars, depth + 1) for key, item in items}
    return value


def to_json(value: Any, max_chars: int) -> str:
    """JSON of ``value`` (non-JSON objects as their pydantic dump or ``repr``), capped at ``max_chars``."""
    try:
        text = json.dumps(_prefix(value, max_chars), default=_fallback, ensure_ascii=False)
    except Exception as exc:  # e.g. circular references; never break the user's call
        logger.debug("could not serialize %s: %s", type(value).__name__, exc)
        text = json.dumps(f"<unserializable {type(value).__name__}>")
    return truncate(text, max_chars)
