"""``@judgment.agent``: agent attribution on every span started during an agent's call."""

from __future__ import annotations

from judgeval import semconv
from judgeval.tracer import Tracer
from judgeval.tracer._agent import AgentAttributionSpanProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.spans import spans_by_name


def _agents(judgment: Tracer) -> tuple[type, type]:
    class Researcher:
        def __init__(self, id: str) -> None:
            self.id = id

        @judgment.agent()
        @judgment.observe()
        def research(self, topic: str) -> str:
            return f"notes on {topic}"

    class Planner:
        def __init__(self, id: str) -> None:
            self.id = id

        @judgment.agent
        @judgment.observe()
        def plan(self, goal: str) -> str:
            self.refine(goal)
            return Researcher("r-1").research(goal)

        @judgment.agent()
        @judgment.observe()
        def refine(self, goal: str) -> str:
            return goal

    return Planner, Researcher


def test_nested_agents_record_who_called_whom(judgment: Tracer, exporter: InMemorySpanExporter):
    planner_cls, _ = _agents(judgment)
    planner_cls("p-1").plan("ship it")
    spans = spans_by_name(exporter)
    plan, research = spans["plan"].attributes, spans["research"].attributes
    assert plan[semconv.GEN_AI_AGENT_NAME] == "Planner"
    assert plan[semconv.GEN_AI_AGENT_ID].endswith("Planner:p-1")
    assert plan[semconv.JUDGEVAL_AGENT_CLASS].endswith("_agents.<locals>.Planner")
    assert semconv.JUDGEVAL_AGENT_PARENT_NAME not in plan
    assert research[semconv.GEN_AI_AGENT_NAME] == "Researcher"
    assert research[semconv.GEN_AI_AGENT_ID].endswith("Researcher:r-1")
    assert research[semconv.JUDGEVAL_AGENT_PARENT_NAME] == "Planner"
    assert research[semconv.JUDGEVAL_AGENT_PARENT_ID] == plan[semconv.GEN_AI_AGENT_ID]


def test_agent_calling_its_own_method_is_not_a_new_level(judgment: Tracer, exporter: InMemorySpanExporter):
    planner_cls, _ = _agents(judgment)
    planner_cls("p-1").plan("ship it")
    refine = spans_by_name(exporter)["refine"].attributes
    assert refine[semconv.GEN_AI_AGENT_NAME] == "Planner"
    assert semconv.JUDGEVAL_AGENT_PARENT_NAME not in refine


def test_foreign_spans_inside_an_agent_are_attributed(
    judgment: Tracer, provider: TracerProvider, exporter: InMemorySpanExporter
):
    other_instrumentation = provider.get_tracer("some.other.library")

    class Worker:
        agent_id = "w-9"

        @judgment.agent()
        def work(self) -> None:
            with other_instrumentation.start_as_current_span("http GET"):
                pass

    Worker().work()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.GEN_AI_AGENT_NAME] == "Worker"
    assert span.attributes[semconv.GEN_AI_AGENT_ID].endswith("Worker:w-9")


def test_a_span_naming_its_own_agent_keeps_that_name(
    judgment: Tracer, provider: TracerProvider, exporter: InMemorySpanExporter
):
    agent_framework = provider.get_tracer("some.agent.framework")

    class Orchestrator:
        @judgment.agent()
        @judgment.observe()
        def delegate(self) -> None:
            with agent_framework.start_as_current_span(
                "invoke_agent triage", attributes={semconv.GEN_AI_AGENT_NAME: "triage"}
            ):
                pass

    Orchestrator().delegate()
    spans = spans_by_name(exporter)
    inner = spans["invoke_agent triage"].attributes
    assert inner[semconv.GEN_AI_AGENT_NAME] == "triage"
    assert semconv.GEN_AI_AGENT_ID not in inner
    assert spans["delegate"].attributes[semconv.GEN_AI_AGENT_NAME] == "Orchestrator"


def test_identifier_names_the_instance_attribute(judgment: Tracer, exporter: InMemorySpanExporter):
    class Bot:
        def __init__(self) -> None:
            self.id = "ignored"
            self.slug = "bot-7"

        @judgment.agent(identifier="slug")
        @judgment.observe()
        def act(self) -> None:
            return None

    Bot().act()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.GEN_AI_AGENT_ID].endswith("Bot:bot-7")


async def test_async_agent_and_no_leak_after_the_call(judgment: Tracer, exporter: InMemorySpanExporter):
    class Async:
        @judgment.agent()
        @judgment.observe()
        async def go(self) -> str:
            return "ok"

    @judgment.observe()
    def after() -> None:
        return None

    assert await Async().go() == "ok"
    after()
    spans = spans_by_name(exporter)
    assert spans["go"].attributes[semconv.GEN_AI_AGENT_NAME] == "Async"
    assert semconv.GEN_AI_AGENT_NAME not in spans["after"].attributes


def test_plain_function_agent_is_named_after_the_function(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.agent()
    @judgment.observe()
    def triage() -> None:
        return None

    triage()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.GEN_AI_AGENT_NAME] == "triage"


def test_processor_added_once_per_provider(provider: TracerProvider):
    Tracer(project_name="a", tracer_provider=provider)
    Tracer(project_name="b", tracer_provider=provider)
    processors = provider._active_span_processor._span_processors
    assert sum(isinstance(p, AgentAttributionSpanProcessor) for p in processors) == 1
