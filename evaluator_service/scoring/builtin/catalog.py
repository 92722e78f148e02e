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

# Trajectory scorers: they score a whole trace or session (see evaluator_service.scoring.trajectory).
TOOL_LOOP: Final = "tool_loop"
TOOL_ERROR_RATE: Final = "tool_error_rate"
STEP_BUDGET: Final = "step_budget"
LLM_CALL_BUDGET: Final = "llm_call_budget"
LATENCY_BUDGET: Final = "latency_budget"
TOKEN_BUDGET: Final = "token_budget"
AGENT_JUDGE: Final = "agent_judge"

TRAJECTORY_JUDGE_TYPES: Final = frozenset({AGENT_JUDGE})
"""Trajectory types that call an LLM and therefore need a model."""

TRAJECTORY_DETERMINISTIC_TYPES: Final = frozenset(
    {TOOL_LOOP, TOOL_ERROR_RATE, STEP_BUDGET, LLM_CALL_BUDGET, LATENCY_BUDGET, TOKEN_BUDGET})

TRAJECTORY_TYPES: Final = TRAJECTORY_JUDGE_TYPES | TRAJECTORY_DETERMINISTIC_TYPES
"""Types a YAML ``scorers:`` entry may have that score trajectories (never spans)."""

REQUIRED_OPTIONS: Final[dict[str, tuple[str, ...]]] = {
    PROMPT_JUDGE: ("template",),
    REGEX: ("pattern",),
    KEYWORD: ("keywords",),
    JSON_SCHEMA: ("schema",),
    STEP_BUDGET: ("max_steps",),
    LLM_CALL_BUDGET: ("max_llm_calls",),
    LATENCY_BUDGET: ("max_seconds",),
    TOKEN_BUDGET: ("max_tokens",),
}
"""Options a YAML-configured scorer of that type must set (built-ins used by name take them from the
request's ``scorer.config`` instead)."""
