"""A compact, deterministic text rendering of a whole trajectory, for the LLM agent judge.

The tree of steps (agent, LLM and tool spans, each under its parent) with tool arguments and results, LLM
inputs and outputs, durations and errors, between the trajectory's first user input and its final output::

    Trajectory: scope trace, 5 spans, 2 LLM calls, 2 tool calls, 1 error
    First user input:
    Refund order A1
    Steps:
    [agent] support_agent 1.200s
      [llm] chat gpt-4.1 0.400s tokens 120/45
        input: ...
        output: ...
      [tool] refund 0.050s ERROR: card declined
        arguments: {"order_id": "A1"}
    Final output:
    Sorry, the refund failed.

Size is capped (:class:`RenderLimits`) without losing the structure: every value longer than
``max_value_chars`` is cut with a marker saying how much was left out; when the steps still do not fit in
``max_chars``, steps from the middle are left out and replaced by one line saying how many (and how many of
them were LLM calls, tool calls and errors). The first user input and the final output are never left out
(each is cut to ``max_endpoint_chars`` at most). The same trajectory always renders to the same text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.data.trace import Trace, TraceSpan

from evaluator_service.scoring.builtin.bounded import check_deadline
from evaluator_service.scoring.trajectory.base import span_failure, tool_arguments, tool_result

_TOKEN_KEYS = (semconv.GEN_AI_USAGE_INPUT_TOKENS, semconv.GEN_AI_USAGE_OUTPUT_TOKENS)


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Size bounds of a rendering (characters)."""

    max_chars: int = 24_000
    """The whole rendering (about 6k tokens)."""
    max_value_chars: int = 300
    """One value of a step (a tool's arguments or result, an LLM input or output, an error)."""
    max_endpoint_chars: int = 4_000
    """The first user input and the final output (never left out, but cut to this)."""
    max_indent: int = 12
    """Deeper steps are indented like this depth (their depth is written out)."""


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and a marker saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more chars]"


def value_text(value: Any) -> str:
    """A span value as one line of text: strings as they are, anything else as sorted JSON."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            text = "(a value nested too deeply to show)"
    return text.replace("\r", "\\r").replace("\n", "\\n")


@dataclass(frozen=True, slots=True)
class _Step:
    lines: tuple[str, ...]
    span: TraceSpan

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)


def _tree_order(trajectory: Trace) -> Iterator[tuple[int, TraceSpan, TraceSpan | None]]:
    """(depth, span, parent) depth first, children in start order; spans no root reaches (cycles) last."""
    children: dict[str, list[TraceSpan]] = {}
    for span in trajectory.trace_spans:
        if span.parent_span_id:
            children.setdefault(span.parent_span_id, []).append(span)
    seen: set[int] = set()
    for start in trajectory.root_spans() + list(trajectory.trace_spans):
        if id(start) in seen:
            continue
        stack: list[tuple[int, TraceSpan, TraceSpan | None]] = [(0, start, None)]
        while stack:
            depth, span, parent = stack.pop()
            if id(span) in seen:
                continue
            seen.add(id(span))
            yield depth, span, parent
            stack.extend((depth + 1, c, span) for c in reversed(children.get(span.span_id, ())))


def _step(depth: int, span: TraceSpan, parent: TraceSpan | None, limits: RenderLimits,
          endpoint: TraceSpan | None) -> _Step:
    indent = "  " * min(depth, limits.max_indent)
    name = value_text(span.span_name)[:200]
    head = f"{indent}[{span.span_kind}] {name}"
    if depth > limits.max_indent:
        head += f" (depth {depth})"
    attributes = span.span_attributes
    model = attributes.get(semconv.GEN_AI_REQUEST_MODEL)
    if span.is_llm_call and model and str(model) not in name:
        head += f" {value_text(model)[:100]}"
    agent = span.agent_name or span.agent_id
    if agent and agent != (parent and (parent.agent_name or parent.agent_id)) and agent != span.span_name:
        head += f" (agent {value_text(agent)[:100]})"  # where the acting agent changes
    head += f" {span.duration:.3f}s"
    tokens = [attributes.get(key) for key in _TOKEN_KEYS]
    if span.is_llm_call and any(t is not None for t in tokens):
        head += " tokens " + "/".join("?" if t is None else value_text(t)[:20] for t in tokens)
    if (failure := span_failure(span)) is not None:
        head += f" ERROR: {cut(value_text(failure), limits.max_value_chars)}"
    lines = [head]
    if span is not endpoint:  # its input and output are the rendering's first input and final output
        labels = ("arguments", "result") if span.is_tool_call else ("input", "output")
        values = ((tool_arguments(span), tool_result(span)) if span.is_tool_call
                  else (span.inputs, span.output))
        for label, value in zip(labels, values, strict=True):
            if value is not None:
                lines.append(f"{indent}    {label}: {cut(value_text(value), limits.max_value_chars)}")
    return _Step(tuple(lines), span)


def _endpoints(trajectory: Trace) -> tuple[TraceSpan | None, Any, Any]:
    """The span whose input and output frame the trajectory, its first user input and its final output."""
    span = trajectory.bounding_span
    roots = trajectory.root_spans()
    if span is None and len(roots) == 1:
        span = roots[0]
    if span is not None and (span.inputs is not None or span.output is not None):
        return span, span.inputs, span.output
    # A session (or a trace with several roots): the turns' top-level spans frame it, first and last.
    ordered = [*roots, *trajectory.trace_spans]
    first = next((s.inputs for s in ordered if s.inputs is not None), None)
    last = next((s.output for s in [*reversed(roots), *reversed(trajectory.trace_spans)]
                 if s.output is not None), None)
    return None, first, last


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _omitted(spans: list[TraceSpan]) -> str:
    llm = sum(1 for s in spans if s.is_llm_call)
    tools = sum(1 for s in spans if s.is_tool_call)
    errors = sum(1 for s in spans if span_failure(s) is not None)
    return (f"… [{_count(len(spans), 'step')} omitted: {_count(llm, 'LLM call')}, "
            f"{_count(tools, 'tool call')}, {_count(errors, 'error')}] …")


_Item = tuple[int, TraceSpan, "TraceSpan | None"]


def _fit(items: list[_Item], render: Callable[[_Item], _Step], budget: int) -> list[str]:
    """Every step's lines if they fit in ``budget``, else the first steps that fit in half of it and the
    last ones that fit in the rest, around one line saying what was left out. Only kept steps are rendered
    (and the ones just past the cut), so a huge trajectory costs about what its rendering keeps."""
    rendered: dict[int, _Step] = {}

    def step(index: int) -> _Step:
        check_deadline()
        if index not in rendered:
            rendered[index] = render(items[index])
        return rendered[index]

    head_end, tail_start, used = 0, len(items), 0  # kept: items[:head_end] and items[tail_start:]
    while head_end < tail_start and used + step(head_end).size <= budget // 2:
        used += step(head_end).size
        head_end += 1
    while head_end < tail_start and used + step(tail_start - 1).size <= budget:
        used += step(tail_start - 1).size
        tail_start -= 1
    if head_end == tail_start:
        return [line for index in range(len(items)) for line in step(index).lines]
    while True:  # make room for the marker, giving up tail steps from its front if needed
        marker = _omitted([span for _, span, _ in items[head_end:tail_start]])
        if used + len(marker) + 1 <= budget or tail_start == len(items):
            break
        used -= step(tail_start).size
        tail_start += 1
    return [*(line for index in range(head_end) for line in step(index).lines), marker,
            *(line for index in range(tail_start, len(items)) for line in step(index).lines)]


def _traces(trajectory: Trace) -> str:
    count = len(trajectory.trace_ids)
    return f" ({count} traces)" if count > 1 else ""


def render_trajectory(trajectory: Trace, limits: RenderLimits | None = None) -> str:
    """The rendering of ``trajectory`` described in the module docstring."""
    limits = limits or RenderLimits()
    endpoint, first_input, final_output = _endpoints(trajectory)
    spans = trajectory.trace_spans
    errors = sum(1 for s in spans if span_failure(s) is not None)
    header = [
        f"Trajectory: scope {trajectory.scope}{_traces(trajectory)}, {_count(len(spans), 'span')}, "
        f"{_count(len(trajectory.llm_calls()), 'LLM call')}, "
        f"{_count(len(trajectory.tool_calls()), 'tool call')}, {_count(errors, 'error')}",
        "First user input:",
        cut("(none recorded)" if first_input is None else value_text(first_input),
            min(limits.max_endpoint_chars, limits.max_chars // 4)),
        "Steps:",
    ]
    footer = [
        "Final output:",
        cut("(none recorded)" if final_output is None else value_text(final_output),
            min(limits.max_endpoint_chars, limits.max_chars // 4)),
    ]
    items = list(_tree_order(trajectory))
    budget = limits.max_chars - sum(len(line) + 1 for line in header + footer)
    steps = _fit(items, lambda item: _step(*item, limits, endpoint), budget)
    return "\n".join([*header, *steps, *footer])
