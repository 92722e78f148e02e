"""One span means the same to a local (``server_hosted=False``) trace scorer and to the evaluator: a real
OpenTelemetry SDK span per attribute vocabulary is read by the SDK's ``trace_span`` and, exported as OTLP
like any agent's span, by the evaluator's ``trace_of``; both give the same ``inputs``, ``output`` and role."""

from __future__ import annotations

from typing import Any

import pytest
from judgeval import semconv
from judgeval.data.trace import TraceSpan
from judgeval.tracer._trace_building import trace_span
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaluator_service.trajectories.buffer import BufferedSpan
from evaluator_service.trajectories.trace_view import trace_of

Event = tuple[str, dict[str, Any]]

# (vocabulary, attributes, events, expected inputs, expected output, expected role)
CASES: list[tuple[str, dict[str, Any], list[Event], Any, Any, str]] = [
    ("genai older indexed (gen_ai.prompt.<i>)", {
        semconv.GEN_AI_OPERATION_NAME: "chat",
        "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "Where is my package?",
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Be brief.",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "It ships tomorrow",
    }, [], "Be brief.\nWhere is my package?", "It ships tomorrow", "chat"),
    ("OpenInference indexed (llm.input_messages.<i>)", {
        semconv.OPENINFERENCE_SPAN_KIND: "LLM",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Where is my package?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.contents.0.message_content.text": "It ships tomorrow",
    }, [], "Where is my package?", "It ships tomorrow", "llm"),
    ("OpenLLMetry older indexed (llm.prompts.<i>)", {
        semconv.TRACELOOP_SPAN_KIND: "task",
        "llm.prompts.0.role": "user", "llm.prompts.0.content": "Where is my package?",
        "llm.completions.0.role": "assistant", "llm.completions.0.content": "It ships tomorrow",
    }, [], "Where is my package?", "It ships tomorrow", "task"),
    ("genai older content events", {}, [
        (semconv.GEN_AI_CONTENT_PROMPT_EVENT, {semconv.GEN_AI_PROMPT: "Where is my package?"}),
        (semconv.GEN_AI_CONTENT_COMPLETION_EVENT, {semconv.GEN_AI_COMPLETION: "It ships tomorrow"}),
    ], "Where is my package?", "It ships tomorrow", "span"),
    ("genai current messages (JSON, decoded)", {
        semconv.GEN_AI_INPUT_MESSAGES: '[{"role": "user", "parts": []}]',
        semconv.GEN_AI_OUTPUT_MESSAGES: '[{"role": "assistant", "parts": []}]',
    }, [], [{"role": "user", "parts": []}], [{"role": "assistant", "parts": []}], "span"),
    ("OpenInference values", {
        semconv.OPENINFERENCE_INPUT_VALUE: "Where is my package?",
        semconv.OPENINFERENCE_OUTPUT_VALUE: '{"eta": "tomorrow"}',
    }, [], "Where is my package?", {"eta": "tomorrow"}, "span"),
    ("GenAI tool call (arguments and result only)", {
        semconv.GEN_AI_OPERATION_NAME: "execute_tool", semconv.GEN_AI_TOOL_NAME: "lookup",
        semconv.GEN_AI_TOOL_CALL_ARGUMENTS: '{"order": 42}', semconv.GEN_AI_TOOL_CALL_RESULT: '"shipped"',
    }, [], {"order": 42}, "shipped", "execute_tool"),
    ("judgeval @observe", {
        semconv.JUDGEVAL_SPAN_TYPE: "tool", semconv.JUDGEVAL_INPUT: '{"args": ["Paris"]}',
        semconv.JUDGEVAL_OUTPUT: "sunny",
    }, [], {"args": ["Paris"]}, "sunny", "tool"),
]


def _recorded(attributes: dict[str, Any], events: list[Event]) -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "agent"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.vocabularies")
    with tracer.start_as_current_span("step", attributes=attributes) as span:
        for name, event_attributes in events:
            span.add_event(name, event_attributes)
    provider.shutdown()
    [finished] = exporter.get_finished_spans()
    return finished


def _as_the_evaluator_reads_it(span: ReadableSpan) -> TraceSpan:
    """The span exported as OTLP, buffered as a feed copy, and read back into a ``Trace``."""
    [resource_spans] = encode_spans([span]).resource_spans
    [otlp] = resource_spans.scope_spans[0].spans
    resource = ResourceSpans(resource=resource_spans.resource).SerializeToString()
    buffered = BufferedSpan(resource, b"", otlp.SerializeToString())
    trace, _ = trace_of([buffered], scope="trace", bounding_span_id=otlp.span_id, trace_ids=[otlp.trace_id])
    [read] = trace.trace_spans
    return read


@pytest.mark.parametrize(("attributes", "events", "inputs", "output", "role"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_sdk_and_the_evaluator_read_the_same_content_from_one_span(
    attributes: dict[str, Any], events: list[Event], inputs: Any, output: Any, role: str
) -> None:
    span = _recorded(attributes, events)
    local, hosted = trace_span(span), _as_the_evaluator_reads_it(span)
    assert (local.inputs, local.output, local.span_kind) == (inputs, output, role)
    assert (hosted.inputs, hosted.output, hosted.span_kind) == (inputs, output, role)
    assert local.span_id == hosted.span_id and local.service_name == hosted.service_name == "agent"
