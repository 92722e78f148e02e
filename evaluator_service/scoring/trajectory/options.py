"""Validation of the trajectory scorers' options, shared by YAML loading and per-request ``scorer.config``.

Unlike the span built-ins, a trajectory scorer refuses options it does not know: ``max_step`` for
``max_steps`` would otherwise silently leave a budget unset. Every error is an
:class:`~evaluator_service.scoring.builtin.options.OptionError` naming the option.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from evaluator_service.scoring.builtin import catalog
from evaluator_service.scoring.builtin.options import OptionError

MAX_JUDGE_PROMPT_CHARS = 90_000
"""Largest ``max_chars`` of the agent judge: the rendering plus its rubric stay under the judges' prompt
limit (:data:`~evaluator_service.scoring.builtin.judges.MAX_PROMPT_CHARS`)."""
MAX_RUBRIC_CHARS = 8_000
"""Longest ``rubric`` of the agent judge."""

LOOP_MODES = ("consecutive", "total")


def _positive_int(options: dict[str, Any], key: str, *, required: bool = False, default: int | None = None,
                  maximum: int | None = None) -> int | None:
    value = options.get(key, default)
    if value is None:
        if required:
            raise OptionError(key, "required, a positive integer")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(key, f"must be a positive integer, got {value!r}")
    if maximum is not None and value > maximum:
        raise OptionError(key, f"must be at most {maximum}, got {value}")
    return value


def _positive_number(options: dict[str, Any], key: str, *, required: bool = False) -> float | None:
    value = options.get(key)
    if value is None:
        if required:
            raise OptionError(key, "required, a positive number")
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise OptionError(key, f"must be a positive number, got {value!r}")
    return float(value)


def _known(options: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(str(k) for k in options if k not in known)
    if unknown:
        raise OptionError(unknown[0], f"unknown option (known: {', '.join(known)})")


def _tool_loop(options: dict[str, Any]) -> None:
    _known(options, ("max_repeats", "mode"))
    _positive_int(options, "max_repeats", default=3)
    mode = options.get("mode", "consecutive")
    if mode not in LOOP_MODES:
        raise OptionError("mode", f"must be 'consecutive' or 'total', got {mode!r}")


def _tool_error_rate(options: dict[str, Any]) -> None:
    _known(options, ("max_error_rate",))
    rate = options.get("max_error_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)
                             or not 0 <= rate <= 1):
        raise OptionError("max_error_rate", f"must be a number from 0 to 1, got {rate!r}")


def _step_budget(options: dict[str, Any]) -> None:
    _known(options, ("max_steps",))
    _positive_int(options, "max_steps", required=True)


def _llm_call_budget(options: dict[str, Any]) -> None:
    _known(options, ("max_llm_calls",))
    _positive_int(options, "max_llm_calls", required=True)


def _latency_budget(options: dict[str, Any]) -> None:
    _known(options, ("max_seconds",))
    _positive_number(options, "max_seconds", required=True)


def _token_budget(options: dict[str, Any]) -> None:
    _known(options, ("max_tokens", "max_input_tokens", "max_output_tokens"))
    _positive_int(options, "max_tokens", required=True)
    _positive_int(options, "max_input_tokens")
    _positive_int(options, "max_output_tokens")


def _agent_judge(options: dict[str, Any]) -> None:
    _known(options, ("rubric", "max_chars", "max_value_chars"))
    rubric = options.get("rubric")
    if rubric is not None and (not isinstance(rubric, str) or not rubric.strip()):
        raise OptionError("rubric", "must be a non-empty string (what the judge checks)")
    if isinstance(rubric, str) and len(rubric) > MAX_RUBRIC_CHARS:
        raise OptionError("rubric", f"is {len(rubric)} characters, over the limit of {MAX_RUBRIC_CHARS}")
    max_chars = _positive_int(options, "max_chars", maximum=MAX_JUDGE_PROMPT_CHARS)
    if max_chars is not None and max_chars < 1000:
        raise OptionError("max_chars", f"must be at least 1000, got {max_chars}")
    _positive_int(options, "max_value_chars", maximum=10_000)


_CHECKERS: dict[str, Callable[[dict[str, Any]], None]] = {
    catalog.TOOL_LOOP: _tool_loop,
    catalog.TOOL_ERROR_RATE: _tool_error_rate,
    catalog.STEP_BUDGET: _step_budget,
    catalog.LLM_CALL_BUDGET: _llm_call_budget,
    catalog.LATENCY_BUDGET: _latency_budget,
    catalog.TOKEN_BUDGET: _token_budget,
    catalog.AGENT_JUDGE: _agent_judge,
}


def validate_trajectory_options(kind: str, options: dict[str, Any]) -> None:
    """Raise :class:`OptionError` when ``options`` cannot configure a trajectory scorer of ``kind``."""
    checker = _CHECKERS.get(kind)
    if checker is not None:
        checker(options)
