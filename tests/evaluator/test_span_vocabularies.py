"""Example fields resolve from whichever vocabulary a span carries, the most specific first."""

from __future__ import annotations

from typing import Any

import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import FROM_VOCABULARY
from judgeval.protocol.span_content import FIELD_SOURCES, SpanEvent, resolve_field

from evaluator_service.span_vocabularies import resolve_example

GENAI_MESSAGES = '[{"role":"assistant","parts":[{"type":"text","content":"It ships tomorrow"}]}]'

# (vocabulary, attributes, events, expected input, expected actual_output), as each instrumentation writes.
CASES: list[tuple[str, dict[str, Any], list[SpanEvent], Any, Any]] = [
    ("genai current", {
        semconv.GEN_AI_INPUT_MESSAGES: '[{"role":"user","parts":[]}]',
        semconv.GEN_AI_OUTPUT_MESSAGES: GENAI_MESSAGES,
    }, [], '[{"role":"user","parts":[]}]', GENAI_MESSAGES),
    ("genai older / OpenLLMetry indexed", {
        "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "Where is my package?",
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Be brief.",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "It ships tomorrow",
        "gen_ai.completion.0.finish_reason": "stop",
    }, [], "Be brief.\nWhere is my package?", "It ships tomorrow"),
    ("OpenLLMetry older indexed", {
        "llm.prompts.0.role": "user", "llm.prompts.0.content": "Where is my package?",
        "llm.completions.0.role": "assistant", "llm.completions.0.content": "It ships tomorrow",
    }, [], "Where is my package?", "It ships tomorrow"),
    ("genai older single attributes", {
        semconv.GEN_AI_PROMPT: "Where is my package?", semconv.GEN_AI_COMPLETION: "It ships tomorrow",
    }, [], "Where is my package?", "It ships tomorrow"),
    ("genai older content events", {}, [
        (semconv.GEN_AI_CONTENT_PROMPT_EVENT, {semconv.GEN_AI_PROMPT: "Where is my package?"}),
        (semconv.GEN_AI_CONTENT_COMPLETION_EVENT, {semconv.GEN_AI_COMPLETION: "It ships tomorrow"}),
    ], "Where is my package?", "It ships tomorrow"),
    ("genai message events", {}, [
        (semconv.GEN_AI_USER_MESSAGE_EVENT, {"content": "Where is my package?"}),
        (semconv.GEN_AI_CHOICE_EVENT, {"index": 0, "message": '{"content": "It ships tomorrow"}'}),
    ], "Where is my package?", '{"content": "It ships tomorrow"}'),
    ("openinference messages", {
        semconv.OPENINFERENCE_SPAN_KIND: "LLM",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Where is my package?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.contents.0.message_content.text": "It ships tomorrow",
        semconv.OPENINFERENCE_INPUT_VALUE: '{"messages": "raw request"}',
        semconv.OPENINFERENCE_OUTPUT_VALUE: '{"id": "raw response"}',
    }, [], "Where is my package?", "It ships tomorrow"),
    ("openinference values", {
        semconv.OPENINFERENCE_INPUT_VALUE: "Where is my package?",
        semconv.OPENINFERENCE_OUTPUT_VALUE: "It ships tomorrow",
    }, [], "Where is my package?", "It ships tomorrow"),
    ("openllmetry entity", {
        semconv.TRACELOOP_ENTITY_INPUT: '{"q": "Where?"}', semconv.TRACELOOP_ENTITY_OUTPUT: '"tomorrow"',
    }, [], '{"q": "Where?"}', '"tomorrow"'),
    ("judgment", {
        semconv.JUDGMENT_INPUT: '{"q": "Where?"}', semconv.JUDGMENT_OUTPUT: '"tomorrow"',
    }, [], '{"q": "Where?"}', '"tomorrow"'),
    ("judgeval @observe", {
        semconv.JUDGEVAL_INPUT: '{"q": "Where?"}', semconv.JUDGEVAL_OUTPUT: '"tomorrow"',
    }, [], '{"q": "Where?"}', '"tomorrow"'),
]


@pytest.mark.parametrize(("vocabulary", "attributes", "events", "expected_input", "expected_output"),
                         CASES, ids=[case[0] for case in CASES])
def test_each_vocabulary_resolves_input_and_output(
    vocabulary: str, attributes: dict[str, Any], events: list[SpanEvent], expected_input: Any,
    expected_output: Any,
):
    assert resolve_field("input", attributes, events) == expected_input
    assert resolve_field("actual_output", attributes, events) == expected_output


def test_llm_messages_win_over_generic_values_and_absent_fields_stay_absent():
    both = {semconv.GEN_AI_OUTPUT_MESSAGES: GENAI_MESSAGES, semconv.JUDGEVAL_OUTPUT: '"from observe"'}
    assert resolve_field("actual_output", both, []) == GENAI_MESSAGES
    assert resolve_field("actual_output", {semconv.GEN_AI_COMPLETION: ""}, []) is None  # empty is absent
    assert resolve_field("input", {"http.method": "GET"}, []) is None
    assert resolve_field("context", {semconv.JUDGEVAL_INPUT: "x"}, []) is None  # no vocabulary for it
    assert set(FIELD_SOURCES) == {"input", "actual_output"}


def test_resolve_example_mixes_vocabulary_keys_and_resource_and_reads_events_only_when_needed():
    loads: list[str] = []

    def events() -> list[SpanEvent]:
        loads.append("events")
        return []

    def resource() -> dict[str, Any]:
        loads.append("resource")
        return {"service.name": "shop"}

    example = resolve_example(
        {"actual_output": "llm.answer", "service": "service.name", "missing": "nope"},
        {"llm.answer": "A refund is on its way."}, events, resource,
    )
    assert example == {"actual_output": "A refund is on its way.", "service": "shop"}
    assert "events" not in loads
    example = resolve_example({"input": FROM_VOCABULARY}, {semconv.GEN_AI_PROMPT: "hi"}, events, resource)
    assert example == {"input": "hi"}
