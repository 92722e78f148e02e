"""Deterministic scorers: regex, keyword, JSON Schema and tool-call errors. Each scores 1.0 or 0.0.

Example fields (rename with the scorer's ``fields`` mapping):

* ``regex``: ``actual_output``; options ``pattern`` (RE2 syntax, see
  :mod:`~evaluator_service.scoring.builtin.patterns`), ``mode`` (``match`` passes when the pattern is
  found, ``no_match`` when it is not), ``ignore_case`` (bool)
* ``keyword``: ``actual_output``; options ``keywords`` (list), ``mode`` (``any``, ``all`` or ``none``),
  ``case_sensitive`` (bool)
* ``json_schema``: ``actual_output`` (a JSON string or an already parsed value); option ``schema``
  (``$ref`` only inside the schema, see :mod:`~evaluator_service.scoring.builtin.schema_validation`)
* ``tool_call_error``: reads the span itself (``span.status.code``, ``span.status.message``) and the
  ``error.type`` attribute, or example fields ``error_type``/``status_code``/``status_message``;
  passes (1.0) when the tool call did not fail

Inputs longer than :data:`~evaluator_service.scoring.builtin.bounded.INLINE_INPUT_CHARS`, and every JSON
Schema validation, run off the event loop under a time limit
(:mod:`~evaluator_service.scoring.builtin.bounded`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest

from evaluator_service.scoring.builtin.base import BuiltinScorer
from evaluator_service.scoring.builtin.bounded import INLINE_INPUT_CHARS, check_deadline, run_bounded
from evaluator_service.scoring.builtin.patterns import compile_pattern
from evaluator_service.scoring.builtin.schema_validation import SchemaOptionError, first_error
from evaluator_service.scoring.contract import InvalidExampleError, ScoreOutcome
from evaluator_service.span_fields import SPAN_STATUS_CODE_FIELD, SPAN_STATUS_MESSAGE_FIELD

T = TypeVar("T")

_REASON_CHARS = 500


def _verdict(passed: bool, reason: str) -> ScoreOutcome:
    return ScoreOutcome(value=1.0 if passed else 0.0, reason=reason[:_REASON_CHARS])


async def _sized(size: int, work: Callable[[], T], what: str) -> T:
    """``work()`` on the spot for small inputs, else off the event loop under the time limit."""
    if size <= INLINE_INPUT_CHARS:
        return work()
    return await run_bounded(work, what)


class RegexScorer(BuiltinScorer):
    """Passes when ``pattern`` is found in the output (or, with ``mode: no_match``, when it is not)."""

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        options = self.options(request)
        pattern = compile_pattern(str(options["pattern"]), bool(options.get("ignore_case")))
        text = self.text(example, "actual_output")
        found = await _sized(len(text), lambda: pattern.search(text) is not None, "the regex scorer")
        expect = options.get("mode", "match") == "match"
        return _verdict(found == expect, "pattern found" if found else "pattern not found")


class KeywordScorer(BuiltinScorer):
    """Passes when the output contains any / all / none of ``keywords``."""

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        options = self.options(request)
        text = self.text(example, "actual_output")
        keywords = [str(k) for k in options["keywords"]]
        if not options.get("case_sensitive"):
            keywords = [k.lower() for k in keywords]

        def search() -> list[str]:
            haystack = text if options.get("case_sensitive") else text.lower()
            found = []
            for keyword in keywords:  # each search is one scan of the text: the deadline is checked between
                check_deadline()
                if keyword in haystack:
                    found.append(keyword)
            return found

        # Each keyword scans the text once: the cost is their product.
        cost = len(text) * len(keywords) // 4 + sum(map(len, keywords))
        present = await _sized(cost, search, "the keyword scorer")
        mode = options.get("mode", "any")
        passed = {"any": bool(present), "all": len(present) == len(keywords), "none": not present}[mode]
        return _verdict(passed, keyword_reason(mode, keywords, present))


def keyword_reason(mode: str, keywords: list[str], present: list[str]) -> str:
    """The keyword scorer's reason in words, for its ``mode``: ``missing "thanks"`` (``any`` of one keyword,
    or ``all``), ``none of "refund", "return" found`` (``any``), ``found "refund", which must not appear``
    (``none``)."""
    missing = [k for k in keywords if k not in present]
    if mode == "none":
        return f"found {_quoted(present)}, which must not appear" if present else \
            f"none of {_quoted(keywords)} found"
    if mode == "all" and missing:
        return f"missing {_quoted(missing)}" + (f" (found {_quoted(present)})" if present else "")
    if mode == "all":
        return f"all of {_quoted(keywords)} found"
    if present:
        return f"found {_quoted(present)}"
    return f"missing {_quoted(keywords)}" if len(keywords) == 1 else f"none of {_quoted(keywords)} found"


def _quoted(words: list[str]) -> str:
    return ", ".join(f'"{word}"' for word in words)


class JsonSchemaScorer(BuiltinScorer):
    """Passes when the output is JSON that validates against ``schema``."""

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        value = self.field(example, "actual_output")
        # The schema's options are checked in the bounded call too: a schema from a span is input as well.
        return await run_bounded(lambda: self._validate(request, value), "the json_schema scorer")

    def _validate(self, request: EvaluationRequest, value: Any) -> ScoreOutcome:
        schema = self.options(request)["schema"]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (json.JSONDecodeError, RecursionError) as exc:
                detail = f"{exc.msg} at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) \
                    else "nested too deeply"
                return _verdict(False, f"output is not JSON: {detail}")
        try:
            error = first_error(schema, value)
        except SchemaOptionError as exc:
            raise InvalidExampleError(f"scorer config schema: {exc}") from None
        if error is None:
            return _verdict(True, "output matches the schema")
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return _verdict(False, f"schema violation at {where}: {error.message}")


class ToolCallErrorScorer(BuiltinScorer):
    """Passes when the span (usually an ``execute_tool`` span) did not record an error."""

    reads_span = True

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        error_type = example.get("error_type") or example.get(semconv.ERROR_TYPE)
        status = str(example.get("status_code") or example.get(SPAN_STATUS_CODE_FIELD) or "UNSET").upper()
        message = example.get("status_message") or example.get(SPAN_STATUS_MESSAGE_FIELD) or ""
        if error_type or status in ("ERROR", "2"):
            detail = f"error.type={error_type}" if error_type else "span status ERROR"
            return _verdict(False, f"tool call failed: {detail}" + (f": {message}" if message else ""))
        return _verdict(True, "tool call succeeded")
