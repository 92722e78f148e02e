"""Framework agents reach their LLM spans: an agent named on a framework's agent span is handed down.

The agent spans here are shaped as the frameworks emit them (the official OpenAI Agents instrumentation:
``invoke_agent`` spans started with an explicit parent context, ``gen_ai.agent.name`` on them only;
OpenInference: ``AGENT`` spans with ``agent.name``), and the LLM spans under them are real ones, made by
the judgeval instrumentor calling the recorded OpenAI-compatible server.
"""

from __future__ import annotations

import openai
from judgeval import semconv
from judgeval.instrumentation import JudgevalInstrumentor
from judgeval.testing import RecordedOpenAIServer
from judgeval.tracer import Tracer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from .zero_code import PACKAGE_QUESTION

QUESTION = [{"role": "user", "content": PACKAGE_QUESTION}]
OPENAI_AGENTS_SCOPE = "opentelemetry.instrumentation.openai_agents"
OPENINFERENCE_SCOPE = "openinference.instrumentation.openai_agents"


def _client(llm: RecordedOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0)


def _by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def _agent(span: ReadableSpan) -> object:
    return (span.attributes or {}).get(semconv.GEN_AI_AGENT_NAME)


def test_invoke_agent_name_reaches_llm_and_tool_spans_below_it(
    instrumented: JudgevalInstrumentor, provider: TracerProvider, exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    framework = provider.get_tracer(OPENAI_AGENTS_SCOPE)
    workflow = framework.start_span("workflow")
    invoke = framework.start_span(
        "invoke_agent WeatherAgent",
        context=trace.set_span_in_context(workflow),
        attributes={
            semconv.GEN_AI_OPERATION_NAME: semconv.GenAiOperationName.INVOKE_AGENT.value,
            semconv.GEN_AI_AGENT_NAME: "WeatherAgent",
            semconv.GEN_AI_AGENT_ID: "agent-weather-1",
        },
    )
    # The framework's own spans take an explicit parent context and are never made current ...
    tool = framework.start_span(
        "execute_tool get_weather", context=trace.set_span_in_context(invoke),
        attributes={semconv.GEN_AI_OPERATION_NAME: semconv.GenAiOperationName.EXECUTE_TOOL.value},
    )
    tool.end()
    # ... while the model call runs with the agent span current: a real LLM span of the instrumentor.
    with trace.use_span(invoke):
        _client(llm).chat.completions.create(model="m", messages=QUESTION)
    invoke.end()
    workflow.end()
    spans = _by_name(exporter)
    assert _agent(spans["chat m"]) == "WeatherAgent"
    assert spans["chat m"].attributes[semconv.GEN_AI_AGENT_ID] == "agent-weather-1"
    assert spans["chat m"].attributes[semconv.GEN_AI_OUTPUT_MESSAGES]  # what the agent said is on it
    assert _agent(spans["execute_tool get_weather"]) == "WeatherAgent"
    assert _agent(spans["workflow"]) is None  # above the agent: nothing to inherit


def test_openinference_agent_span_reaches_its_descendants(
    instrumented: JudgevalInstrumentor, provider: TracerProvider, exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    framework = provider.get_tracer(OPENINFERENCE_SCOPE)
    agent_kind = {semconv.OPENINFERENCE_SPAN_KIND: semconv.OpenInferenceSpanKind.AGENT.value}
    llm_kind = {semconv.OPENINFERENCE_SPAN_KIND: semconv.OpenInferenceSpanKind.LLM.value}
    # As openinference-instrumentation-openai-agents does: the span kind at start, ``agent.name`` only when
    # the agent span ends (after its children), the agent's name as the span's name.
    with framework.start_as_current_span("WeatherAgent", attributes=agent_kind) as agent:
        with framework.start_as_current_span("response", attributes=llm_kind):
            _client(llm).chat.completions.create(model="m", messages=QUESTION)  # a grandchild
        agent.set_attribute(semconv.OPENINFERENCE_AGENT_NAME, "WeatherAgent")
    chain = {
        semconv.OPENINFERENCE_SPAN_KIND: semconv.OpenInferenceSpanKind.CHAIN.value,
        semconv.OPENINFERENCE_AGENT_NAME: "not an agent span",
    }
    with framework.start_as_current_span("chain", attributes=chain), framework.start_as_current_span("after"):
        pass
    spans = _by_name(exporter)
    assert _agent(spans["response"]) == "WeatherAgent"
    assert _agent(spans["chat m"]) == "WeatherAgent"
    assert _agent(spans["WeatherAgent"]) == "WeatherAgent"  # the agent span names itself in GenAI terms
    assert _agent(spans["chain"]) is None  # only spans of kind AGENT name an agent
    assert _agent(spans["after"]) is None


def test_a_framework_agent_inside_a_judgment_agent_and_the_other_way_round(
    instrumented: JudgevalInstrumentor, provider: TracerProvider, exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    judgment = Tracer(project_name="agents", tracer_provider=provider)
    framework = provider.get_tracer(OPENAI_AGENTS_SCOPE)
    client = _client(llm)

    class Orchestrator:
        @judgment.agent()
        @judgment.observe()
        def run(self) -> None:
            with framework.start_as_current_span(
                "invoke_agent WeatherAgent", attributes={semconv.GEN_AI_AGENT_NAME: "WeatherAgent"}
            ):
                client.chat.completions.create(model="inner", messages=QUESTION)
                Summarizer().summarize()
            client.chat.completions.create(model="outer", messages=QUESTION)

    class Summarizer:
        @judgment.agent()
        def summarize(self) -> None:
            client.chat.completions.create(model="summary", messages=QUESTION)

    Orchestrator().run()
    spans = _by_name(exporter)
    assert _agent(spans["run"]) == "Orchestrator"
    assert _agent(spans["invoke_agent WeatherAgent"]) == "WeatherAgent"  # its own name wins
    assert _agent(spans["chat inner"]) == "WeatherAgent"  # the nearer agent
    assert semconv.JUDGEVAL_AGENT_CLASS not in spans["chat inner"].attributes
    # An @agent call entered under the framework's span is nearer still.
    assert _agent(spans["chat summary"]) == "Summarizer"
    assert spans["chat summary"].attributes[semconv.JUDGEVAL_AGENT_PARENT_NAME] == "Orchestrator"
    assert _agent(spans["chat outer"]) == "Orchestrator"
    assert spans["chat outer"].attributes[semconv.JUDGEVAL_AGENT_CLASS].endswith("Orchestrator")


def test_a_remote_parent_names_no_agent(
    instrumented: JudgevalInstrumentor, provider: TracerProvider, exporter: InMemorySpanExporter,
    llm: RecordedOpenAIServer,
):
    remote = NonRecordingSpan(SpanContext(1, 2, is_remote=True, trace_flags=TraceFlags(1)))
    with trace.use_span(remote):
        _client(llm).chat.completions.create(model="m", messages=QUESTION)
    (span,) = exporter.get_finished_spans()
    assert _agent(span) is None
    assert span.parent is not None and span.parent.span_id == 2
