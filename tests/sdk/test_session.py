"""Session ids: ``judgment.session(...)`` and ``judgment.set_session_id(...)`` put
``gen_ai.conversation.id`` on the spans of a conversation."""

from __future__ import annotations

import openai
import pytest
from judgeval import semconv
from judgeval.testing import RecordedOpenAIServer
from judgeval.tracer import JudgevalUsageWarning, Tracer, wrap
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def _conversation(span: ReadableSpan) -> object:
    return (span.attributes or {}).get(semconv.GEN_AI_CONVERSATION_ID)


def test_every_span_of_each_turn_carries_the_session(
    judgment: Tracer, exporter: InMemorySpanExporter, openai_server: RecordedOpenAIServer
):
    client = wrap(openai.OpenAI(base_url=openai_server.base_url, api_key="test"), judgment)

    @judgment.observe(span_type="tool")
    def lookup(order: str) -> str:
        return f"{order}: shipped"

    @judgment.observe()
    def turn(message: str) -> str:
        client.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": message}])
        return lookup("A-1")

    with judgment.session("conv-42"):
        turn("where is my package?")
        turn("and the invoice?")
    turn("unrelated")
    spans = exporter.get_finished_spans()
    turns = [s for s in spans if s.name == "turn"]
    assert len({s.context.trace_id for s in turns}) == 3  # each turn is its own trace
    in_session = [s for s in spans if s.context.trace_id in {t.context.trace_id for t in turns[:2]}]
    assert {s.name for s in in_session} == {"turn", "lookup", "chat gpt-5-mini"}
    assert all(_conversation(s) == "conv-42" for s in in_session)
    assert all(_conversation(s) is None for s in spans if s not in in_session)


def test_set_session_id_marks_the_current_span_and_what_starts_below_it(
    judgment: Tracer, exporter: InMemorySpanExporter
):
    @judgment.observe()
    def before() -> None:
        return None

    @judgment.observe()
    def after() -> None:
        return None

    @judgment.observe()
    def handle(conversation: str) -> None:
        before()
        judgment.set_session_id(conversation)
        after()

    handle("conv-7")
    by_name = {s.name: s for s in exporter.get_finished_spans()}
    assert _conversation(by_name["handle"]) == "conv-7"
    assert _conversation(by_name["after"]) == "conv-7"
    assert _conversation(by_name["before"]) is None


def test_an_instrumentations_own_conversation_id_wins(judgment: Tracer, exporter: InMemorySpanExporter):
    with judgment.session("outer"), judgment.otel_tracer.start_as_current_span(
        "framework", attributes={semconv.GEN_AI_CONVERSATION_ID: "framework-thread"}
    ):
        pass
    (span,) = exporter.get_finished_spans()
    assert _conversation(span) == "framework-thread"


@pytest.mark.parametrize("bad", ["", None, 42])
def test_a_bad_session_id_warns_and_marks_nothing(
    judgment: Tracer, exporter: InMemorySpanExporter, bad: object
):
    with (
        pytest.warns(JudgevalUsageWarning, match="session id must be a non-empty string"),
        judgment.session(bad),  # type: ignore[arg-type]
        judgment.otel_tracer.start_as_current_span("s"),
    ):
        pass
    (span,) = exporter.get_finished_spans()
    assert _conversation(span) is None
