"""The docs' quickstart and multi-agent example through the real collector, evaluator and Jaeger.

agent --OTLP--> collector --pending--> evaluator (uploaded docs' scorer, sandboxed) --enriched--> collector
                          --untagged-------------------------------------------------------------> Jaeger
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from judgeval import semconv

from evaluator_service.localstack.jaeger_query import JaegerQuery, JaegerSpan
from evaluator_service.localstack.procs import OtelBinaries, free_endpoint
from evaluator_service.localstack.runner import (
    MULTI_AGENT_DIR,
    ExampleRun,
    StackEnv,
    run_example,
    run_quickstart,
    start_evaluator,
    upload_docs_scorer,
)
from evaluator_service.localstack.stack import CollectorInstance, JaegerInstance, start_collector
from tests.support.polling import eventually

SCORER = "Package Inquiry Scorer"
QUICKSTART_SPANS = {"run", "handle_request", "chat gpt-5-mini"}


@pytest.fixture
def collector(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> Iterator[CollectorInstance]:
    """Collector → evaluator (with the docs' scorer uploaded through the real CLI) → collector → Jaeger."""
    evaluator_endpoint = free_endpoint()
    with (
        start_collector(
            otel_binaries.otelcol,
            stack_env.work_dir / "otelcol",
            evaluator_endpoint,
            jaeger.otlp_grpc_endpoint,
        ) as collector,
        start_evaluator(stack_env, evaluator_endpoint, collector.grpc_endpoint) as evaluator,
    ):
        upload_docs_scorer(stack_env, evaluator.endpoint)
        yield collector


def new_trace(
    query: JaegerQuery, service: str, run: Callable[[], ExampleRun], complete: set[str]
) -> list[JaegerSpan]:
    """Run an example and return its trace once Jaeger holds every span named in ``complete``."""
    seen = {t[0].trace_id for t in query.find_traces(service)}
    run()
    fresh = eventually(
        lambda: [t for t in query.find_traces(service) if t[0].trace_id not in seen],
        f"a new {service} trace in Jaeger",
        timeout=60,
        interval=0.2,
    )
    trace_id = fresh[0][0].trace_id
    return query.wait_for_trace(trace_id, lambda spans: complete <= {s.name for s in spans}, 60)


def by_name(spans: list[JaegerSpan]) -> dict[str, JaegerSpan]:
    return {s.name: s for s in spans}


def sampled_quickstart_trace(
    jaeger: JaegerInstance, env: StackEnv, collector: CollectorInstance
) -> list[JaegerSpan]:
    """The verbatim quickstart samples 95% of runs: run it until one is sampled (5 misses: ~3e-7)."""
    for _ in range(5):
        trace = new_trace(
            jaeger.query,
            "customer_service",
            lambda: run_quickstart(env, collector.grpc_endpoint),
            QUICKSTART_SPANS,
        )
        status = by_name(trace)["handle_request"].attributes[semconv.JUDGEVAL_EVAL_STATUS]
        if status != semconv.EvalStatus.NOT_SELECTED:  # sampled out: the evaluator saw it, selected nothing
            return trace
    pytest.fail("five runs at sampling_rate=0.95 were all sampled out")


def test_quickstart_span_is_scored_by_the_uploaded_scorer_and_reaches_jaeger_once(
    jaeger: JaegerInstance, stack_env: StackEnv, collector: CollectorInstance
) -> None:
    trace = sampled_quickstart_trace(jaeger, stack_env, collector)

    # Every span exactly once: untagged ones directly, the tagged one only after enrichment.
    assert Counter(s.name for s in trace) == Counter(QUICKSTART_SPANS)
    assert len({s.span_id for s in trace}) == len(trace)
    spans = by_name(trace)
    handle = spans["handle_request"]
    assert handle.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED
    assert handle.attributes[semconv.JUDGEVAL_EVAL_SUCCESS] is True
    assert handle.attributes[semconv.score_attribute(SCORER, semconv.ScoreField.VALUE)] == 1.0
    assert (
        "appropriately addresses"
        in handle.attributes[semconv.score_attribute(SCORER, semconv.ScoreField.REASON)]
    )
    events = [attrs for name, attrs in handle.events if name == semconv.GEN_AI_EVALUATION_RESULT_EVENT]
    assert len(events) == 1
    assert events[0][semconv.GEN_AI_EVALUATION_NAME] == SCORER
    assert events[0][semconv.GEN_AI_EVALUATION_SCORE_VALUE] == 1.0
    assert events[0][semconv.GEN_AI_EVALUATION_SCORE_LABEL] == semconv.ScoreLabel.PASS

    # Hierarchy and attribution survive the trip through the evaluator (resource and parents preserved).
    assert handle.parent_span_id == spans["run"].span_id
    assert spans["chat gpt-5-mini"].parent_span_id == handle.span_id
    assert handle.resource[semconv.SERVICE_NAME] == "customer_service"
    for span in trace:
        assert span.attributes[semconv.GEN_AI_AGENT_NAME] == "CustomerServiceAgent"
    # The plain function span went straight to Jaeger; the LLM span is a rule candidate, so it went through
    # the evaluator, which marked it (no rule is configured) and sent it on.
    assert semconv.JUDGEVAL_EVAL_STATUS not in spans["run"].attributes
    chat = spans["chat gpt-5-mini"].attributes
    assert chat[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.NOT_SELECTED


def test_multi_agent_trace_shows_which_agent_called_which_method(
    jaeger: JaegerInstance, stack_env: StackEnv, collector: CollectorInstance
) -> None:
    trace = new_trace(
        jaeger.query,
        "multi-agent-system",
        lambda: run_example(
            stack_env,
            collector.grpc_endpoint,
            "multi-agent",
            MULTI_AGENT_DIR / "main.py",
            "multi-agent-system",
        ),
        {"plan", "research", "perform_task"},
    )
    spans = by_name(trace)
    assert spans["plan"].attributes[semconv.GEN_AI_AGENT_NAME] == "PlanningAgent"
    assert semconv.JUDGEVAL_AGENT_PARENT_NAME not in spans["plan"].attributes
    for child, agent in (("research", "ResearchAgent"), ("perform_task", "TaskAgent")):
        assert spans[child].parent_span_id == spans["plan"].span_id
        assert spans[child].attributes[semconv.GEN_AI_AGENT_NAME] == agent
        assert spans[child].attributes[semconv.JUDGEVAL_AGENT_PARENT_NAME] == "PlanningAgent"
        assert (
            spans[child].attributes[semconv.JUDGEVAL_AGENT_PARENT_ID]
            == spans["plan"].attributes[semconv.GEN_AI_AGENT_ID]
        )
