"""Turning arbitrary Python values into size-capped JSON strings for span attributes.

Runs on the caller's thread, so it must be cheap and must never raise: anything ``json`` cannot encode
falls back to a pydantic dump or ``repr``; a failure becomes a placeholder string.
"""

from __future__ import annotations

import itertools
import json
import json.encoder as json_encoder
import logging
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger("judgeval")

Encode = Callable[[Any], str]

TRUNCATION_MARK = "…[truncated]"
_SCALARS = frozenset({int, float, bool, type(None)})
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


def _short_scalars(values: Iterable[Any], max_chars: int) -> bool:
    for item in values:
        kind = type(item)
        if kind is str:
            if len(item) > max_chars:
                return False
        elif kind not in _SCALARS:
            return False
    return True


def _prefix(value: Any, max_chars: int, depth: int = 0) -> Any:
    """``value`` cut down to what can show in the first ``max_chars`` characters of its JSON.

    Every character of a string and every item of a container adds at least one character to the JSON,
    so keeping the first ``max_chars`` of each leaves the capped text unchanged while a huge argument is
    no longer serialized in full on the caller's thread.
    """
    if isinstance(value, str):
        return value if len(value) <= max_chars else value[: max_chars + 1]
    if depth >= _PREFIX_DEPTH:
        return value
    if type(value) is dict and len(value) <= max_chars and _short_scalars(value.values(), max_chars):
        return value  # the usual arguments dict: nothing to cut, no copy
    if type(value) in (list, tuple):
        return [_prefix(item, max_chars, depth + 1) for item in value[:max_chars]]
    if type(value) is dict:
        items = itertools.islice(value.items(), max_chars)
        return {key: _prefix(item, max_chars, depth + 1) for key, item in items}
    return value


def make_encoder(default: Callable[[Any], Any], ensure_ascii: bool, separators: tuple[str, str]) -> Encode:
    """A ``json.dumps(value, default=..., ensure_ascii=..., separators=...)`` built once, not per call.

    ``json.dumps`` with any keyword builds a ``JSONEncoder``, and every ``encode`` builds the C encoder
    again; this builds the C encoder once. It skips the circular-reference bookkeeping (whose table could
    not be shared between threads): a circular value raises ``RecursionError`` instead of ``ValueError``,
    and callers treat both as "cannot serialize".
    """
    python_encoder = json.JSONEncoder(default=default, ensure_ascii=ensure_ascii, separators=separators)
    c_make_encoder = getattr(json_encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # no C accelerator (e.g. PyPy): the stock path
        return python_encoder.encode
    string_encoder = json_encoder.encode_basestring_ascii if ensure_ascii else json_encoder.encode_basestring
    c_encode = c_make_encoder(
        None, default, string_encoder, None, separators[1], separators[0], False, False, True
    )

    def encode(value: Any) -> str:
        return "".join(c_encode(value, 0))

    return encode


_encode = make_encoder(_fallback, ensure_ascii=False, separators=(", ", ": "))


def to_json(value: Any, max_chars: int) -> str:
    """JSON of ``value`` (non-JSON objects as their pydantic dump or ``repr``), capped at ``max_chars``."""
    if type(value) is str and len(value) <= max_chars:  # a short string: what _encode would write
        return truncate(json_encoder.encode_basestring(value), max_chars)
    try:
        text = _encode(_prefix(value, max_chars))
    except Exception as exc:  # e.g. circular references; never break the user's call
        logger.debug("could not serialize %s: %s", type(value).__name__, exc)
        text = json.dumps(f"<unserializable {type(value).__name__}>")
    return truncate(text, max_chars)
