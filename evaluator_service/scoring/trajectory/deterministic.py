"""Deterministic trajectory scorers: tool loops, tool-error rate, and budgets of steps, LLM calls, latency
and tokens. Each reads the :class:`~judgeval.data.trace.Trace` only (no LLM) and explains its verdict.

* ``tool_loop``: fails (0.0) when the same tool is called with identical arguments more than
  ``max_repeats`` (default 3) times in a row (``mode: consecutive``, the default; LLM and other spans between
  the calls do not break the run) or in total (``mode: total``); the reason names the tool, the count and
  the arguments (the span's recorded input, else ``gen_ai.tool.call.arguments``; a call whose arguments
  were not recorded never counts as a repeat)
* ``tool_error_rate``: scores ``1 - failed/total`` tool calls (1.0 without tool calls), so a threshold of
  0.75 allows a quarter of them to fail; ``max_error_rate`` decides pass/fail itself instead of the threshold
* ``step_budget`` (``max_steps``: LLM calls plus tool calls), ``llm_call_budget`` (``max_llm_calls``),
  ``latency_budget`` (``max_seconds``: the bounding span's duration, else first start to last end),
  ``token_budget`` (``max_tokens``, optional ``max_input_tokens`` / ``max_output_tokens``: the
  ``gen_ai.usage.*`` counts of the LLM call spans only, since agent and framework spans often repeat their
  children's sums): 1.0 within the budget, 0.0 over it

Trajectories of more than :data:`INLINE_SPANS` spans are scored off the event loop under the built-ins' time
limit (:mod:`~evaluator_service.scoring.builtin.bounded`).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from judgeval import semconv
from judgeval.data.trace import Trace
from judgeval.protocol.trajectory_request import TrajectoryRequest

from evaluator_service.scoring.builtin.bounded import check_deadline, run_bounded
from evaluator_service.scoring.contract import InvalidExampleError, ScoreOutcome
from evaluator_service.scoring.trajectory.base import TrajectoryBuiltinScorer, span_failure, tool_arguments

INLINE_SPANS = 200
"""Trajectories up to this many spans are scored on the spot (a few milliseconds at most, see
benchmarks/README.md "Trajectory scorers"); larger ones in the bounded thread pool."""

_REASON_CHARS = 500
_UNREADABLE = "(arguments nested too deeply to compare)"
_PREVIEW_CHARS = 120
_LISTED_ERRORS = 5


def _verdict(passed: bool, reason: str) -> ScoreOutcome:
    return ScoreOutcome(value=1.0 if passed else 0.0, reason=reason[:_REASON_CHARS])


def _canonical(value: Any) -> str:
    """One spelling per value, so equal arguments compare equal whatever their key order."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return _UNREADABLE


def _preview(text: str) -> str:
    return text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + "…"


class TrajectoryCheck(TrajectoryBuiltinScorer):
    """A deterministic check: :meth:`check` on the trajectory, on the spot or bounded by size."""

    async def score_trajectory(self, trajectory: Trace, request: TrajectoryRequest) -> ScoreOutcome:
        options = self.options(request)
        work: Callable[[], ScoreOutcome] = lambda: self.check(trajectory, options)  # noqa: E731
        if len(trajectory.trace_spans) <= INLINE_SPANS:
            return work()
        return await run_bounded(work, f"the {self.config.type} scorer")

    def check(self, trajectory: Trace, options: dict[str, Any]) -> ScoreOutcome:
        raise NotImplementedError


class ToolLoopScorer(TrajectoryCheck):
    """Fails when one tool is called with identical arguments too many times in a row (or in total)."""

    def check(self, trajectory: Trace, options: dict[str, Any]) -> ScoreOutcome:
        limit = int(options.get("max_repeats", 3))
        total = options.get("mode", "consecutive") == "total"
        calls = trajectory.tool_calls()
        if not calls:
            return _verdict(True, "no tool calls")
        keys = []
        for index, call in enumerate(calls):
            check_deadline()
            arguments = tool_arguments(call.span)
            # Arguments nobody recorded cannot be compared: such a call never counts as a repeat.
            key = _canonical(arguments) if arguments is not None else f"\0unrecorded {index}"
            keys.append((call.name, key))
        (name, arguments), count = _most_repeated(keys, total)
        where = "in total" if total else "in a row"
        if count > limit:
            return _verdict(False, f"tool {name!r} was called {count} times {where} with the same arguments "
                                   f"{_preview(arguments)} (at most {limit} allowed)")
        most = "once" if count == 1 else f"{count} times"
        return _verdict(True, f"no tool call repeated with the same arguments more than {limit} times "
                              f"{where} (most: {name!r}, {most})")


def _most_repeated(keys: list[tuple[str, str]], total: bool) -> tuple[tuple[str, str], int]:
    """The call repeated most (in total, or in one run of consecutive calls), first such on ties."""
    if total:
        counts = Counter(keys)
        best = max(counts.values())
        return next(k for k in keys if counts[k] == best), best
    best_key, best, run = keys[0], 1, 1
    for previous, key in itertools.pairwise(keys):
        run = run + 1 if key == previous else 1
        if run > best:
            best_key, best = key, run
    return best_key, best


class ToolErrorRateScorer(TrajectoryCheck):
    """Scores the share of tool calls that did not fail."""

    def check(self, trajectory: Trace, options: dict[str, Any]) -> ScoreOutcome:
        calls = trajectory.tool_calls()
        if not calls:
            return ScoreOutcome(value=1.0, reason="no tool calls")
        failures = [(c.name, why) for c in calls if (why := span_failure(c.span))]
        rate = len(failures) / len(calls)
        listed = "; ".join(f"{name!r}: {_preview(why)}" for name, why in failures[:_LISTED_ERRORS])
        more = f" and {len(failures) - _LISTED_ERRORS} more" if len(failures) > _LISTED_ERRORS else ""
        reason = f"{len(failures)} of {len(calls)} tool calls failed ({rate:.0%})"
        if failures:
            reason += f": {listed}{more}"
        limit = options.get("max_error_rate")
        success = None if limit is None else rate <= float(limit)
        if limit is not None:
            reason += f" (at most {float(limit):.0%} allowed)"
        return ScoreOutcome(value=1.0 - rate, reason=reason[:_REASON_CHARS], success=success)


class StepBudgetScorer(TrajectoryCheck):
    """Fails when the agent took more than ``max_steps`` steps (LLM calls plus tool calls)."""

    def check(self, trajectory: Trace, options: dict[str, Any]) -> ScoreOutcome:
        limit = int(options["max_steps"])
        llm = len(trajectory.llm_calls())
        tools = len(trajectory.tool_calls())
        steps = llm + tools
        detail = f"{steps} steps ({llm} LLM calls, {tools} tool calls)"
        if steps > limit:
            return _verdict(False, f"{detail}, over the budget of {limit}")
        return _verdict(True, f"{detail}, within the budget of {limit}")


class LlmCallBudgetScorer(TrajectoryCheck):
    """Fails when the trajectory made more than ``max_llm_calls`` LLM calls."""

    def check(self, trajectory: Trace, options: dict[str, Any]) -> ScoreOutcome:
        limit = int(options["max_llm_calls"])
        calls = trajectory.llm_calls()
        models = Counter(str(s.span_attributes.get(semconv.GEN_AI_REQUEST_MODEL) or s.span_name)
                         for s in calls)
        detail = f"{len(calls)} LLM calls" + (
            " (" + ", ".join(f"{m}: {n}" for m, n in sorted(models.items())) + ")" if calls else "")
        if len(calls) > limit:
            return _verdict(False, f"{detail}, over the budget of {limit}")
        return _verdict(True, f"{detail}, within the budget of {limit}")


def trajectory_seconds(trajectory: Trace) -> float | None:
    """The bounding span's duration, else first start to last end of the spans; ``None`` without timings."""
    bounding = trajectory.bounding_span
    if bounding is not None and bounding.duration > 0:
        return bounding.duration
    timed = [s for s in trajectory.trace_spans if s.start_time_unix_nano and s.end_time_unix_nano]
    if not timed:
        return None
    start = min(s.start_time_unix_nano for s in timed)
    end = max(s.end_time_unix_nano for s in timed)
    return max(0, end - start) / 1e9


class LatencyBudgetScorer(TrajectoryCheck):
    """Fails when the trajectory took longer than ``max_seconds``."""

    def check(self, trajectory: Trace, options: dict[str, Any]) -> ScoreOutcome:
        limit = float(options["max_seconds"])
        seconds = trajectory_seconds(trajectory)
        if seconds is None:
            raise InvalidExampleError("the trajectory's spans have no start and end times")
        if seconds > limit:
            return _verdict(False, f"took {seconds:.3f} s, over the budget of {limit:g} s")
        return _verdict(True, f"took {seconds:.3f} s, within the budget of {limit:g} s")


def _token_count(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and value.is_integer():
        return max(0, int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 0


class TokenBudgetScorer(TrajectoryCheck):
    """Fails when the LLM calls used more tokens than the budget (total, and optionally input/output)."""

    def check(self, trajectory: Trace, options: dict[str, Any]) -> ScoreOutcome:
        calls = trajectory.llm_calls()
        used_in = sum(_token_count(s.span_attributes.get(semconv.GEN_AI_USAGE_INPUT_TOKENS)) for s in calls)
        used_out = sum(_token_count(s.span_attributes.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS)) for s in calls)
        total = used_in + used_out
        detail = f"{total} tokens ({used_in} input, {used_out} output) over {len(calls)} LLM calls"
        over = [f"{what} budget of {limit}" for what, used, limit in (
            ("token", total, options["max_tokens"]),
            ("input-token", used_in, options.get("max_input_tokens")),
            ("output-token", used_out, options.get("max_output_tokens")),
        ) if limit is not None and used > int(limit)]
        if over:
            return _verdict(False, f"{detail}, over the {' and the '.join(over)}")
        return _verdict(True, f"{detail}, within the budget of {options['max_tokens']}")
