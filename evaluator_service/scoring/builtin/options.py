"""Validation of built-in scorer options, shared by YAML loading and per-request ``scorer.config``."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from evaluator_service.errors import EvaluatorError


class OptionError(EvaluatorError, ValueError):
    """An option of a built-in scorer is missing or malformed; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def validate_options(kind: str, options: dict[str, Any]) -> None:
    """Raise :class:`OptionError` when ``options`` cannot configure a scorer of ``kind``."""
    checker = _CHECKERS.get(kind)
    if checker is not None:
        checker(options)


def _regex(options: dict[str, Any]) -> None:
    pattern = options.get("pattern")
    if not isinstance(pattern, str):
        raise OptionError("pattern", "required, a regular expression string")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise OptionError("pattern", f"invalid regular expression: {exc}") from None
    mode = options.get("mode", "match")
    if mode not in ("match", "no_match"):
        raise OptionError("mode", f"must be 'match' or 'no_match', got {mode!r}")


def _keyword(options: dict[str, Any]) -> None:
    keywords = options.get("keywords")
    if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) for k in keywords):
        raise OptionError("keywords", "required, a non-empty list of strings")
    mode = options.get("mode", "any")
    if mode not in ("any", "all", "none"):
        raise OptionError("mode", f"must be 'any', 'all' or 'none', got {mode!r}")


def _json_schema(options: dict[str, Any]) -> None:
    schema = options.get("schema")
    if not isinstance(schema, dict):
        raise OptionError("schema", "required, a JSON Schema object")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise OptionError("schema", f"invalid JSON Schema: {exc.message}") from None


def _prompt_judge(options: dict[str, Any]) -> None:
    template = options.get("template")
    if not isinstance(template, str) or not template.strip():
        raise OptionError("template", "required, a prompt with {field} placeholders")


_CHECKERS = {"regex": _regex, "keyword": _keyword, "json_schema": _json_schema, "prompt_judge": _prompt_judge}
