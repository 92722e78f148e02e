"""JSON Schema validation safe for schemas that come from spans.

:func:`schema_validator` builds a Draft 2020-12 validator that differs from ``jsonschema``'s default in
three ways, each closing a hole a hostile schema used:

* ``$ref`` resolves only inside the schema (and the official meta-schemas): the registry's ``retrieve``
  refuses every URI, so a schema can neither make the evaluator fetch a URL (server-side request forgery)
  nor hang it on a server that never answers;
* ``pattern``, ``patternProperties`` and ``additionalProperties`` match with RE2
  (:mod:`~evaluator_service.scoring.builtin.patterns`), never with Python's backtracking ``re``;
  ``unevaluatedProperties`` would still use ``re`` on ``patternProperties``, so a schema combining the two
  is refused;
* every keyword first checks the time limit of the bounded call it runs in
  (:func:`~evaluator_service.scoring.builtin.bounded.check_deadline`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from evaluator_service.errors import EvaluatorError
from evaluator_service.scoring.builtin.bounded import check_deadline
from evaluator_service.scoring.builtin.patterns import PatternError, compile_pattern

Keyword = Callable[[Any, Any, Any, dict[str, Any]], Iterator[ValidationError] | None]


class SchemaOptionError(EvaluatorError, ValueError):
    """The schema cannot be used safely; the message says why."""


def _refuse(uri: str) -> Any:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # an attrs class the stubs do not describe


_LOCAL_ONLY: Registry[Any] = Registry(retrieve=_refuse)  # type: ignore[call-arg]


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
             ) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]
                        ) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = compile_pattern(pattern)
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    patterns = [compile_pattern(p) for p in schema.get("patternProperties", {})]
    return [k for k in instance if k not in properties and not any(p.search(k) for p in patterns)]


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: dict[str, Any]
                           ) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        listed = ", ".join(repr(e) for e in sorted(extras))
        yield ValidationError(f"Additional properties are not allowed ({listed} unexpected)")


def _checked(keyword: Keyword) -> Keyword:
    def run(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Any:
        check_deadline()
        return keyword(validator, value, instance, schema)

    return run


_BASE = jsonschema.Draft202012Validator
_KEYWORDS: dict[str, Keyword] = {
    **_BASE.VALIDATORS,
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}
SafeValidator = jsonschema.validators.extend(_BASE, {k: _checked(f) for k, f in _KEYWORDS.items()})


def check_schema(schema: Any) -> None:
    """Raise :class:`SchemaOptionError` unless ``schema`` is a valid schema this module can run safely."""
    if not isinstance(schema, dict):
        raise SchemaOptionError("required, a JSON Schema object")
    try:
        _BASE.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise SchemaOptionError(f"invalid JSON Schema: {exc.message}") from None
    uses = _keywords_used(schema)
    if "patternProperties" in uses and "unevaluatedProperties" in uses:
        raise SchemaOptionError("patternProperties cannot be combined with unevaluatedProperties here")
    for pattern in uses.get("pattern", []) + uses.get("patternProperties", []):
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise SchemaOptionError(f"pattern {pattern[:80]!r}: {exc}") from None


def _keywords_used(schema: Any) -> dict[str, list[str]]:
    """Regex-bearing keywords anywhere in ``schema``: the patterns of each (iteratively: schemas nest)."""
    found: dict[str, list[str]] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                found.setdefault("pattern", []).append(value)
            elif key == "patternProperties" and isinstance(value, dict):
                found.setdefault("patternProperties", []).extend(str(p) for p in value)
            elif key == "unevaluatedProperties":
                found.setdefault("unevaluatedProperties", [])
            stack.append(value)
    return found


def first_error(schema: dict[str, Any], instance: Any) -> ValidationError | None:
    """The most relevant violation of ``schema`` by ``instance`` (``None``: it is valid). A ``$ref`` that
    is not inside the schema raises :class:`SchemaOptionError`."""
    validator = SafeValidator(schema, registry=_LOCAL_ONLY)
    try:
        return jsonschema.exceptions.best_match(validator.iter_errors(instance))
    except Unresolvable as exc:
        raise SchemaOptionError(
            f"$ref cannot be resolved ({exc}): only references inside the schema are followed, "
            "nothing is fetched") from None
