"""Names of the built-in scorer types (what ``type:`` in YAML and request scorer names may say)."""

from __future__ import annotations

from typing import Final

ANSWER_RELEVANCY: Final = "answer_relevancy"
FAITHFULNESS: Final = "faithfulness"
INSTRUCTION_ADHERENCE: Final = "instruction_adherence"
PROMPT_JUDGE: Final = "prompt_judge"
REGEX: Final = "regex"
KEYWORD: Final = "keyword"
JSON_SCHEMA: Final = "json_schema"
PII: Final = "pii"
TOOL_CALL_ERROR: Final = "tool_call_error"

JUDGE_TYPES: Final = frozenset({ANSWER_RELEVANCY, FAITHFULNESS, INSTRUCTION_ADHERENCE, PROMPT_JUDGE})
"""Types that call an LLM and therefore need a model."""

DETERMINISTIC_TYPES: Final = frozenset({REGEX, KEYWORD, JSON_SCHEMA, PII, TOOL_CALL_ERROR})

BUILTIN_TYPES: Final = JUDGE_TYPES | DETERMINISTIC_TYPES

REQUIRED_OPTIONS: Final[dict[str, tuple[str, ...]]] = {
    PROMPT_JUDGE: ("template",),
    REGEX: ("pattern",),
    KEYWORD: ("keywords",),
    JSON_SCHEMA: ("schema",),
}
"""Options a YAML-configured scorer of that type must set (built-ins used by name take them from the
request's ``scorer.config`` instead)."""
