"""Validation of built-in scorer options, shared by YAML loading and per-request ``scorer.config``."""

from __future__ import annotations

import string
from typing import Any

from evaluator_service.errors import EvaluatorError
from evaluator_service.scoring.builtin.patterns import PatternError, compile_pattern
from evaluator_service.scoring.builtin.schema_validation import SchemaOptionError, check_schema


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
        compile_pattern(pattern, bool(options.get("ignore_case")))
    except PatternError as exc:
        raise OptionError("pattern", str(exc)) from None
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
    try:
        check_schema(options.get("schema"))
    except SchemaOptionError as exc:
        raise OptionError("schema", str(exc)) from None


def _prompt_judge(options: dict[str, Any]) -> None:
    template = options.get("template")
    if not isinstance(template, str) or not template.strip():
        raise OptionError("template", "required, a prompt with {field} placeholders")
    template_fields(template)


def template_fields(template: str) -> list[str]:
    """The placeholders of a judge template, in order (repeats included); raises :class:`OptionError`
    unless every one is a plain ``{name}``.

    Format specs, conversions, attribute and index access are refused: ``{x:>999999999}`` made a 351-byte
    span allocate a gigabyte, and ``{x.__class__}`` reads Python internals. Only names remain, so the size
    of a rendered prompt is known before it is built."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise OptionError("template", f"cannot be parsed: {exc}") from None
    names: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise OptionError("template", f"placeholder {shown[:60]!r} is not allowed; write plain "
                                          "{field} placeholders (no format specs, conversions, "
                                          "attributes, indexes or positions)")
        names.append(name)
    return names


_CHECKERS = {"regex": _regex, "keyword": _keyword, "json_schema": _json_schema, "prompt_judge": _prompt_judge}
