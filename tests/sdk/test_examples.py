"""The docs' programs in ``examples/``, run unchanged in subprocesses against a real OTLP receiver."""

from __future__ import annotations

from pathlib import Path

from judgeval import semconv
from judgeval.protocol.evaluation_request import decode_requests
from judgeval.testing import OtlpTraceReceiver, ReceivedSpan

from tests.support.ids import first_trace_ids
from tests.support.processes import EXAMPLES, REPO_ROOT, run_python

CUSTOMER_SERVICE = EXAMPLES / "customer_service"
MULTI_AGENT = EXAMPLES / "multi_agent"

# Runs the customer-service agent with a sampling rate chosen by the test, leaving the example verbatim:
# the agent's own ``async_evaluate`` call is routed through a rate override.
RATE_SCRIPT = """
import sys
sys.path.insert(0, {example_dir!r})
import agent as example

rate, runs = float(sys.argv[1]), int(sys.argv[2])
original = example.judgment.async_evaluate
example.judgment.async_evaluate = lambda **kw: original(**{{**kw, "sampling_rate": rate}})
service = example.CustomerServiceAgent()
for _ in range(runs):
    service.run("Where is my package? I ordered it last week.")
"""


def _by_name(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.name == name]


def _run_with_rate(tmp_path: Path, env: dict[str, str], rate: float, runs: int) -> None:
    script = tmp_path / "run_with_rate.py"
    script.write_text(RATE_SCRIPT.format(example_dir=str(CUSTOMER_SERVICE)))
    run_python([str(script), str(rate), str(runs)], env=env, cwd=CUSTOMER_SERVICE, timeout=120)


def test_customer_service_example_trace(agent_env: dict[str, str], receiver: OtlpTraceReceiver):
    done = run_python(["agent.py"], env=agent_env, cwd=CUSTOMER_SERVICE)
    assert "package" in done.stdout
    spans = receiver.wait_for(lambda s: len(s) >= 3)
    (run,) = _by_name(spans, "run")
    (handle,) = _by_name(spans, "handle_request")
    (chat,) = _by_name(spans, "chat gpt-5-mini")
    assert run.parent_span_id == ""
    assert handle.parent_span_id == run.span_id
    assert chat.parent_span_id == handle.span_id
    for span in (run, handle, chat):
        assert span.attributes[semconv.GEN_AI_AGENT_NAME] == "CustomerServiceAgent"
        assert span.resource["service.name"] == "customer_service"
        assert span.resource[semconv.JUDGEVAL_PROJECT_NAME] == "customer_service"
    assert handle.attributes[semconv.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert chat.attributes[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert chat.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_customer_service_tags_handle_request_at_rate_one(
    tmp_path: Path, agent_env: dict[str, str], receiver: OtlpTraceReceiver
):
    _run_with_rate(tmp_path, agent_env, rate=1.0, runs=1)
    spans = receiver.wait_for(lambda s: len(s) >= 3)
    (handle,) = _by_name(spans, "handle_request")
    assert handle.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "pending"
    assert handle.attributes[semconv.JUDGEVAL_EVAL_SCORERS] == ["Package Inquiry Scorer"]
    (request,) = decode_requests(handle.attributes[semconv.JUDGEVAL_EVAL_REQUESTS])
    assert request.scorer.class_path == "customer_service_scorer.PackageInquiryScorer"
    assert request.scorer.server_hosted is True
    assert request.example["request"] == "Where is my package? I ordered it last week."
    assert "package" in request.example["response"]
    assert all(semconv.JUDGEVAL_EVAL_STATUS not in s.attributes for s in spans if s is not handle)


def test_customer_service_never_tags_at_rate_zero(
    tmp_path: Path, agent_env: dict[str, str], receiver: OtlpTraceReceiver
):
    _run_with_rate(tmp_path, agent_env, rate=0.0, runs=5)
    spans = receiver.wait_for(lambda s: len(_by_name(s, "handle_request")) >= 5)
    assert all(semconv.JUDGEVAL_EVAL_STATUS not in s.attributes for s in spans)


# The docs' agent, unchanged, in an app that installs its own provider with known trace ids (the Tracer
# reuses an app's provider): which traces the docs' 0.95 rate samples is then known in advance.
SEEDED_SCRIPT = """
import sys
sys.path.insert(0, {repo_root!r})
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from tests.support.ids import SeededIdGenerator

provider = TracerProvider(id_generator=SeededIdGenerator({seed}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)

import agent
service = agent.CustomerServiceAgent()
for _ in range({runs}):
    service.run("Where is my package? I ordered it last week.")
provider.shutdown()
"""
DOCS_RATE = 0.95
"""The ``sampling_rate`` in the docs' customer-service agent."""


def sampled_by_the_documented_rule(trace_id: int, rate: float) -> bool:
    """README: a trace is scored iff the low 56 bits of its id are at least ``(1 - rate) * 2**56``."""
    # the same inequality, moved so that no float rounding of ``1 - rate`` enters
    return (1 << 56) - (trace_id & ((1 << 56) - 1)) <= rate * (1 << 56)


def test_docs_rate_tags_exactly_the_traces_the_sampling_rule_picks(
    agent_env: dict[str, str], receiver: OtlpTraceReceiver
):
    seed, runs = 11, 100
    trace_ids = first_trace_ids(seed, runs)
    expected = {f"{t:032x}" for t in trace_ids if sampled_by_the_documented_rule(t, DOCS_RATE)}
    assert 0 < len(expected) < runs, "the seed must exercise both outcomes"
    script = SEEDED_SCRIPT.format(repo_root=str(REPO_ROOT), seed=seed, runs=runs)
    run_python(["-c", script], env=agent_env, cwd=CUSTOMER_SERVICE, timeout=150)
    spans = receiver.wait_for(lambda s: len(_by_name(s, "handle_request")) >= runs, timeout=60)
    handles = _by_name(spans, "handle_request")
    assert sorted(s.trace_id for s in handles) == sorted(f"{t:032x}" for t in trace_ids)
    tagged = {s.trace_id for s in handles if semconv.JUDGEVAL_EVAL_STATUS in s.attributes}
    assert tagged == expected


def test_multi_agent_example_shows_who_called_whom(agent_env: dict[str, str], receiver: OtlpTraceReceiver):
    done = run_python(["main.py"], env=agent_env, cwd=MULTI_AGENT)
    assert "Agent planner-1 is planning" in done.stdout
    spans = receiver.wait_for(lambda s: len(s) >= 3)
    (plan,) = _by_name(spans, "plan")
    (research,) = _by_name(spans, "research")
    (task,) = _by_name(spans, "perform_task")
    assert plan.attributes[semconv.GEN_AI_AGENT_NAME] == "PlanningAgent"
    assert plan.attributes[semconv.GEN_AI_AGENT_ID] == "planning_agent.PlanningAgent:planner-1"
    assert semconv.JUDGEVAL_AGENT_PARENT_NAME not in plan.attributes
    for child, name, agent_id in (
        (research, "ResearchAgent", "research_agent.ResearchAgent:Researcher1"),
        (task, "TaskAgent", "task_agent.TaskAgent:Tasker1"),
    ):
        assert child.parent_span_id == plan.span_id
        assert child.attributes[semconv.GEN_AI_AGENT_NAME] == name
        assert child.attributes[semconv.GEN_AI_AGENT_ID] == agent_id
        assert child.attributes[semconv.JUDGEVAL_AGENT_PARENT_NAME] == "PlanningAgent"
        assert child.attributes[semconv.JUDGEVAL_AGENT_PARENT_ID] == "planning_agent.PlanningAgent:planner-1"
    assert plan.resource["service.name"] == "multi-agent-system"
