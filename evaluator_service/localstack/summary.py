"""What the local stack prints at the end: the scored span, its score, and where to look at the trace."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from judgeval import semconv
from judgeval.testing import OtlpTraceReceiver

from evaluator_service.localstack.jaeger_query import JaegerQuery
from evaluator_service.localstack.runner import ExampleRun

SCORED_SPAN = "handle_request"
"""The docs' quickstart calls ``async_evaluate`` inside ``CustomerServiceAgent.handle_request``."""

WAIT_S = 120.0


class SpanLike(Protocol):
    """What the summary reads of a span: a Jaeger-returned one or a received one."""

    @property
    def name(self) -> str: ...
    @property
    def trace_id(self) -> str: ...
    @property
    def attributes(self) -> dict[str, Any]: ...
    @property
    def events(self) -> list[tuple[str, dict[str, Any]]]: ...


def from_jaeger(
    query: JaegerQuery, ui_url: str, runs: Sequence[ExampleRun], rerun: Callable[[], ExampleRun]
) -> bool:
    """Wait until Jaeger holds the enriched quickstart span; print the summary; True when it was found."""
    def spans_of(service: str) -> list[SpanLike]:
        return [s for trace in query.find_traces(service) for s in trace]

    return _summarize(spans_of, runs, lambda trace_id: f"{ui_url}/trace/{trace_id}", rerun)


def from_receiver(
    sink: OtlpTraceReceiver, out_file: Path, runs: Sequence[ExampleRun], rerun: Callable[[], ExampleRun]
) -> bool:
    """Collector-less mode: the evaluator exported to ``sink``; also write every span to ``out_file``."""
    def spans_of(service: str) -> list[SpanLike]:
        return [s for s in sink.spans if s.resource.get(semconv.SERVICE_NAME) == service]

    found = _summarize(spans_of, runs, lambda trace_id: f"{out_file} (trace {trace_id})", rerun)
    with out_file.open("w") as out:
        for span in sink.spans:
            record = {"name": span.name, "trace_id": span.trace_id, "span_id": span.span_id,
                      "parent_span_id": span.parent_span_id, "attributes": span.attributes,
                      "resource": span.resource, "events": span.events}
            out.write(json.dumps(record, default=str) + "\n")
    return found


def _summarize(
    spans_of: Callable[[str], list[SpanLike]], runs: Sequence[ExampleRun], trace_link: Callable[[str], str],
    rerun: Callable[[], ExampleRun],
) -> bool:
    quickstart, multi_agent = runs[0], runs[1]
    print(f"==> {quickstart.name}: the agent answered: {quickstart.output[:160]!r}", flush=True)
    scored = _wait_for(lambda: _enriched(spans_of(quickstart.service_name)))
    for _ in range(3):
        if scored is not None or not _all_sampled_out(spans_of(quickstart.service_name)):
            break
        print("    that run was not sampled (the docs use sampling_rate=0.95); running the agent again",
              flush=True)
        rerun()
        scored = _wait_for(lambda: _enriched(spans_of(quickstart.service_name)))
    if scored is None:
        print(f"!!  no enriched {SCORED_SPAN!r} span reached the backend within {WAIT_S:.0f}s "
              "(see the evaluator and collector logs in the work dir)", flush=True)
        return False
    for line in _score_lines(scored):
        print(f"    {line}", flush=True)
    print(f"    trace: {trace_link(scored.trace_id)}", flush=True)
    agents = _wait_for(lambda: _agent_spans(spans_of(multi_agent.service_name)))
    print(f"==> {multi_agent.name}: which agent called which method", flush=True)
    for span in agents or []:
        parent = span.attributes.get(semconv.JUDGEVAL_AGENT_PARENT_NAME)
        caller = f" (called by {parent})" if parent else ""
        print(f"    {span.name:<14} agent {span.attributes[semconv.GEN_AI_AGENT_NAME]}{caller}", flush=True)
    if agents:
        print(f"    trace: {trace_link(agents[0].trace_id)}", flush=True)
    return True


def _wait_for(probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    return None


def _enriched(spans: list[SpanLike]) -> SpanLike | None:
    for span in spans:
        if span.name == SCORED_SPAN and any(
            name == semconv.GEN_AI_EVALUATION_RESULT_EVENT for name, _ in span.events
        ):
            return span
    return None


def _all_sampled_out(spans: list[SpanLike]) -> bool:
    """Every quickstart run so far fell in the 5% that ``sampling_rate=0.95`` leaves unscored."""
    runs = [s for s in spans if s.name == SCORED_SPAN]
    # A sampled-out run is a rule candidate (a tool span): the evaluator saw it and marked it not_selected.
    unscored = (None, semconv.EvalStatus.NOT_SELECTED)
    return bool(runs) and all(s.attributes.get(semconv.JUDGEVAL_EVAL_STATUS) in unscored for s in runs)


def _agent_spans(spans: list[SpanLike]) -> list[SpanLike]:
    """Spans carrying agent attribution, the top-level agent first."""
    attributed = [s for s in spans if semconv.GEN_AI_AGENT_NAME in s.attributes]
    return sorted(attributed, key=lambda s: (semconv.JUDGEVAL_AGENT_PARENT_NAME in s.attributes, s.name))


def _score_lines(span: SpanLike) -> list[str]:
    status = span.attributes.get(semconv.JUDGEVAL_EVAL_STATUS)
    lines = [f"{SCORED_SPAN}: {semconv.JUDGEVAL_EVAL_STATUS}={status}"]
    for name, attrs in span.events:
        if name != semconv.GEN_AI_EVALUATION_RESULT_EVENT:
            continue
        value = f"{float(attrs.get(semconv.GEN_AI_EVALUATION_SCORE_VALUE, 'nan')):g}"
        label = attrs.get(semconv.GEN_AI_EVALUATION_SCORE_LABEL)
        why = attrs.get(semconv.GEN_AI_EVALUATION_EXPLANATION)
        lines.append(f"{attrs.get(semconv.GEN_AI_EVALUATION_NAME)}: {value} ({label}) - {why}")
    return lines
