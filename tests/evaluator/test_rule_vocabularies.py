"""Rules without a mapping score spans of every vocabulary, select by scope and span kind, and leave a
reference to the span's content in the request instead of a copy."""

from __future__ import annotations

import json
from typing import Any

from judgeval import semconv
from judgeval.protocol.evaluation_request import decode_requests
from judgeval.protocol.otlp_values import to_any_value
from judgeval.semconv import EvalStatus, ScoreField, score_attribute
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.evaluator import export, running, wait_for
from tests.support.spans import by_name, make_request, make_span

ANSWER = "Your package ships tomorrow. " * 40  # long enough that a copy per rule would show
SHIPS = {"name": "ships", "type": "keyword", "options": {"keywords": ["tomorrow"]}}
POLITE = {"name": "polite", "type": "keyword", "options": {"keywords": ["please"]}}
CLIENT = Span.SpanKind.SPAN_KIND_CLIENT
INTERNAL = Span.SpanKind.SPAN_KIND_INTERNAL


def _span(name: str, attributes: dict[str, Any], kind: Span.SpanKind.ValueType = CLIENT,
          events: tuple[tuple[str, dict[str, Any]], ...] = ()) -> Span:
    span = make_span(name, attributes)
    span.kind = kind
    for event_name, event_attributes in events:
        event = span.events.add(name=event_name, time_unix_nano=span.start_time_unix_nano)
        for key, value in event_attributes.items():
            event.attributes.add(key=key).value.CopyFrom(to_any_value(value))
    return span


VOCABULARY_SPANS = {
    "openinference": {
        semconv.OPENINFERENCE_SPAN_KIND: "LLM",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Where is my package?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": ANSWER,
    },
    "openllmetry": {
        "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "Where is my package?",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": ANSWER,
    },
    "genai-current": {
        semconv.GEN_AI_OUTPUT_MESSAGES: json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": ANSWER}]}]
        ),
    },
    "judgment": {semconv.JUDGMENT_INPUT: '{"q": "Where?"}', semconv.JUDGMENT_OUTPUT: json.dumps(ANSWER)},
    "nothing-to-score": {"http.method": "GET"},
}


async def test_rules_without_a_mapping_read_every_vocabulary(make_config, receiver):
    rules = {"scorers": [SHIPS], "rules": [{"name": "any-llm", "when": {"service.name": "shop"},
                                            "scorer": "ships"}]}
    spans = [_span(name, attributes) for name, attributes in VOCABULARY_SPANS.items()]
    spans.append(_span("older-genai-events", {}, events=(
        (semconv.GEN_AI_CONTENT_PROMPT_EVENT, {semconv.GEN_AI_PROMPT: "Where is my package?"}),
        (semconv.GEN_AI_CONTENT_COMPLETION_EVENT, {semconv.GEN_AI_COMPLETION: ANSWER}),
    )))
    async with running(make_config(rules)) as app:
        await export(app, make_request(spans, service="shop"))
        received = await wait_for(receiver, lambda s: len(s) == len(spans))
    for name in [*VOCABULARY_SPANS, "older-genai-events"]:
        attributes = by_name(received, name).attributes
        if name == "nothing-to-score":
            assert attributes[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.ERROR
            assert "ships: invalid_example: example has no field 'actual_output'" in attributes[
                semconv.JUDGEVAL_EVAL_ERROR]
            continue
        assert attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED, name
        assert attributes[score_attribute("ships", ScoreField.VALUE)] == 1.0, name


async def test_a_rule_request_refers_to_the_span_instead_of_copying_the_example(make_config, receiver):
    rules = {
        "scorers": [SHIPS, POLITE],
        "rules": [
            {"name": "ships", "when": {"gen_ai.completion.0.role": "assistant"}, "scorer": "ships"},
            {"name": "polite", "when": {"gen_ai.completion.0.role": "assistant"}, "scorer": "polite",
             "example": {"input": "app.question"}},
        ],
    }
    attributes = {**VOCABULARY_SPANS["openllmetry"], "app.question": "Where is it?"}
    async with running(make_config(rules)) as app:
        await export(app, make_request([_span("llm", attributes)]))
        (span,) = await wait_for(receiver, lambda s: len(s) == 1)
    raw = span.attributes[semconv.JUDGEVAL_EVAL_REQUESTS]
    assert "ships tomorrow" not in raw and len(raw) < len(ANSWER)  # no copy of the content at all
    requests = decode_requests(raw)
    assert [r.example for r in requests] == [{}, {}]
    assert requests[0].example_from == {"input": "*", "actual_output": "*"}
    assert requests[1].example_from == {"input": "app.question", "actual_output": "*"}
    assert span.attributes[score_attribute("ships", ScoreField.VALUE)] == 1.0  # resolved at scoring time
    assert span.attributes[score_attribute("polite", ScoreField.VALUE)] == 0.0
    assert span.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == semconv.EvalVerdict.FAIL


async def test_rules_select_by_instrumentation_scope_and_span_kind(make_config, receiver):
    rules = {
        "scorers": [SHIPS],
        "rules": [
            {"name": "oi-llm", "instrumentation_scope": "openinference.instrumentation.openai",
             "span_kind": "CLIENT", "scorer": "ships"},
            {"name": "internal-only", "span_kind": "internal", "when": {"app.stage": "answer"},
             "scorer": "ships"},
        ],
    }
    oi = VOCABULARY_SPANS["openinference"]
    async with running(make_config(rules)) as app:
        await export(app, make_request(
            [_span("oi-client", oi), _span("oi-internal", oi, kind=INTERNAL)],
            scope="openinference.instrumentation.openai",
        ))
        await export(app, make_request(
            [_span("other-scope", oi), _span("stage-internal", {**oi, "app.stage": "answer"}, kind=INTERNAL),
             _span("stage-client", {**oi, "app.stage": "answer"})],
            scope="opentelemetry.instrumentation.openai",
        ))
        received = await wait_for(receiver, lambda s: len(s) == 5)
    rule_of = {s.name: s.attributes.get(semconv.JUDGEVAL_EVAL_RULE) for s in received}
    assert rule_of == {
        "oi-client": "oi-llm", "oi-internal": None, "other-scope": None,
        "stage-internal": "internal-only", "stage-client": None,
    }
    assert by_name(received, "oi-client").attributes[score_attribute("ships", ScoreField.VALUE)] == 1.0
