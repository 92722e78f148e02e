"""Regular expressions from scorer options, compiled with RE2: matching time is linear in the text.

Patterns come from YAML and from span payloads (a request's ``scorer.config``), so they are untrusted.
Python's ``re`` backtracks: ``(a+)+$`` against a long run of ``a`` never finishes, and it holds the
interpreter lock while it tries, freezing the event loop and every other thread. RE2 (``google-re2``)
never backtracks, releases the lock while matching, and bounds the memory a compiled pattern may use; the
price is its syntax, which has no backreferences and no lookaround. We chose it over the ``regex``
package's ``timeout=``: a time limit still lets every call burn that much CPU, and ``regex`` backtracks.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

from evaluator_service.errors import EvaluatorError

MAX_PATTERN_CHARS = 4096
"""Longest pattern accepted (a pattern is configuration, not data)."""

MAX_PROGRAM_BYTES = 8 * 1024 * 1024
"""Memory RE2 may use for one compiled pattern (its default); ``a{1000}{1000}`` and the like are refused."""


class PatternError(EvaluatorError, ValueError):
    """A pattern RE2 cannot or will not compile; the message says why."""


def compile_pattern(pattern: str, ignore_case: bool = False) -> Any:
    """The compiled pattern (cached); raises :class:`PatternError` naming the problem."""
    if not isinstance(pattern, str):
        raise PatternError("must be a string")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"is {len(pattern)} characters long; at most {MAX_PATTERN_CHARS} are allowed")
    return _compile(pattern, ignore_case)


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every rejected pattern to stderr
    options.max_mem = MAX_PROGRAM_BYTES
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) \
            else str(exc)
        raise PatternError(
            f"invalid regular expression for RE2 ({reason}); RE2 has no backreferences or lookaround"
        ) from None
