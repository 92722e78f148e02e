"""``@judgment.observe``: one span per call for every kind of callable, inputs/outputs, errors, toggles."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import AsyncIterator, Iterator

import pytest
from judgeval import environment_variables, semconv
from judgeval.tracer import Tracer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tests.support.spans import spans_by_name


def test_bare_and_called_forms_trace_one_span_per_call(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe
    def bare(x: int) -> int:
        return x + 1

    @judgment.observe(span_type="tool", name="lookup")
    def called(x: int) -> int:
        return bare(x) * 2

    assert called(1) == 4
    spans = spans_by_name(exporter)
    assert set(spans) == {"bare", "lookup"}
    assert spans["bare"].parent is not None
    assert spans["bare"].parent.span_id == spans["lookup"].context.span_id
    assert spans["lookup"].attributes[semconv.JUDGEVAL_SPAN_TYPE] == "tool"
    assert spans["lookup"].attributes[semconv.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert spans["lookup"].attributes[semconv.GEN_AI_TOOL_NAME] == "lookup"
    assert spans["bare"].attributes[semconv.JUDGEVAL_SPAN_TYPE] == "function"
    assert semconv.GEN_AI_OPERATION_NAME not in spans["bare"].attributes


def test_agent_span_type_maps_to_invoke_agent(judgment: Tracer, exporter: InMemorySpanExporter):
    judgment.observe(span_type="agent")(lambda: None)()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.GEN_AI_OPERATION_NAME] == "invoke_agent"


def test_method_inputs_exclude_self_and_output_is_json(judgment: Tracer, exporter: InMemorySpanExporter):
    class Agent:
        @judgment.observe()
        def answer(self, question: str, *, loud: bool = False) -> dict[str, str]:
            return {"answer": question.upper() if loud else question}

    Agent().answer("hi", loud=True)
    (span,) = exporter.get_finished_spans()
    assert span.name == "answer"
    assert json.loads(span.attributes[semconv.JUDGEVAL_INPUT]) == {"question": "hi", "loud": True}
    assert json.loads(span.attributes[semconv.JUDGEVAL_OUTPUT]) == {"answer": "HI"}


def test_unserializable_values_fall_back_to_repr(judgment: Tracer, exporter: InMemorySpanExporter):
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    judgment.observe(lambda thing: thing)(Opaque())
    (span,) = exporter.get_finished_spans()
    assert json.loads(span.attributes[semconv.JUDGEVAL_OUTPUT]) == "<opaque>"


def test_captured_content_is_capped(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_MAX_CHARS, "50")
    judgment = Tracer(project_name="capped", tracer_provider=provider)
    judgment.observe(lambda text: text)("x" * 1000)
    (span,) = exporter.get_finished_spans()
    assert len(span.attributes[semconv.JUDGEVAL_INPUT]) == 50
    assert len(span.attributes[semconv.JUDGEVAL_OUTPUT]) == 50
    assert span.attributes[semconv.JUDGEVAL_OUTPUT].endswith("[truncated]")


def test_capture_content_false_records_no_inputs_or_outputs(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_CONTENT, "false")
    judgment = Tracer(project_name="private", tracer_provider=provider)
    judgment.observe(lambda secret: secret)("password")
    (span,) = exporter.get_finished_spans()
    assert semconv.JUDGEVAL_INPUT not in span.attributes
    assert semconv.JUDGEVAL_OUTPUT not in span.attributes


def test_exception_is_recorded_and_the_same_object_reraised(judgment: Tracer, exporter: InMemorySpanExporter):
    error = ValueError("bad input")

    @judgment.observe()
    def fails() -> None:
        raise error

    with pytest.raises(ValueError) as caught:
        fails()
    assert caught.value is error
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[semconv.ERROR_TYPE] == "ValueError"
    assert [event.name for event in span.events] == ["exception"]


async def test_async_function_span_covers_the_await(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe()
    async def inner() -> str:
        return "done"

    @judgment.observe()
    async def outer() -> str:
        return await inner()

    assert await outer() == "done"
    spans = spans_by_name(exporter)
    assert spans["inner"].parent.span_id == spans["outer"].context.span_id
    assert json.loads(spans["outer"].attributes[semconv.JUDGEVAL_OUTPUT]) == "done"


async def test_async_exception_is_reraised(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe()
    async def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        await fails()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.ERROR_TYPE] == "KeyError"


def test_generator_span_covers_iteration_and_children(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe()
    def child(i: int) -> int:
        return i

    @judgment.observe()
    def numbers(n: int) -> Iterator[int]:
        for i in range(n):
            yield child(i)

    iterator = numbers(3)
    assert exporter.get_finished_spans() == ()  # nothing ran yet
    assert next(iterator) == 0
    # Between items the generator's span is not current in the consumer's code.
    assert not trace.get_current_span().get_span_context().is_valid
    assert list(iterator) == [1, 2]
    spans = exporter.get_finished_spans()
    numbers_span = next(s for s in spans if s.name == "numbers")
    assert [s.parent.span_id for s in spans if s.name == "child"] == [numbers_span.context.span_id] * 3
    assert json.loads(numbers_span.attributes[semconv.JUDGEVAL_OUTPUT]) == [0, 1, 2]


def test_generator_closed_early_ends_its_span_without_error(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe()
    def forever() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    iterator = forever()
    next(iterator)
    iterator.close()
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET


def test_generator_error_is_recorded(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe()
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        list(broken())
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.ERROR_TYPE] == "RuntimeError"


async def test_async_generator_span_covers_iteration(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe()
    async def letters() -> AsyncIterator[str]:
        for letter in "ab":
            yield letter

    assert [letter async for letter in letters()] == ["a", "b"]
    (span,) = exporter.get_finished_spans()
    assert span.name == "letters"
    assert json.loads(span.attributes[semconv.JUDGEVAL_OUTPUT]) == ["a", "b"]


def test_monitoring_disabled_returns_the_original_function(
    monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter
):
    monkeypatch.setenv(environment_variables.JUDGMENT_MONITORING, "false")
    global_provider = trace.get_tracer_provider()

    def handler() -> str:
        return "ok"

    judgment = Tracer(project_name="off")
    assert judgment.observe(handler) is handler
    assert judgment.observe(span_type="tool")(handler) is handler
    assert judgment.agent()(handler) is handler
    assert judgment.agent(handler) is handler
    assert trace.get_tracer_provider() is global_provider


def test_explicit_argument_beats_environment(monkeypatch: pytest.MonkeyPatch, provider: TracerProvider):
    monkeypatch.setenv(environment_variables.JUDGMENT_MONITORING, "false")
    judgment = Tracer(project_name="explicit", enable_monitoring=True, tracer_provider=provider)
    assert judgment.config.monitoring is True


def test_positional_span_type_is_understood_with_a_warning(judgment: Tracer, exporter: InMemorySpanExporter):
    with pytest.warns(UserWarning, match='span_type="tool"'):

        @judgment.observe("tool")
        def search() -> None:
            return None

    search()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.JUDGEVAL_SPAN_TYPE] == "tool"


async def test_async_generator_forwards_asend_and_athrow(judgment: Tracer, exporter: InMemorySpanExporter):
    received: list[object] = []

    @judgment.observe()
    async def echo() -> AsyncIterator[str]:
        value = yield "ready"
        while True:
            try:
                value = yield f"got {value}"
            except KeyError as error:
                received.append(error)
                value = yield "recovered"

    generator = echo()
    assert await generator.asend(None) == "ready"
    assert await generator.asend("a") == "got a"
    assert await generator.athrow(KeyError("k")) == "recovered"
    assert [type(error) for error in received] == [KeyError]
    assert await generator.asend("b") == "got b"
    await generator.aclose()
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert json.loads(span.attributes[semconv.JUDGEVAL_OUTPUT]) == ["ready", "got a", "recovered", "got b"]


async def test_async_generator_closed_early_runs_its_cleanup(
    judgment: Tracer, exporter: InMemorySpanExporter
):
    cleaned_up: list[bool] = []

    @judgment.observe()
    async def forever() -> AsyncIterator[int]:
        try:
            while True:
                yield 1
        finally:
            cleaned_up.append(True)

    generator = forever()
    assert await generator.__anext__() == 1
    await generator.aclose()
    assert cleaned_up == [True]
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET


def test_generator_items_are_not_kept_alive_and_stop_counting_past_the_cap(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_MAX_CHARS, "30")
    judgment = Tracer(project_name="items", tracer_provider=provider)

    class Chunk:
        serialized = 0

        def __init__(self, index: int) -> None:
            self.index = index

        def __repr__(self) -> str:
            Chunk.serialized += 1
            return f"chunk {self.index}"

    @judgment.observe()
    def chunks() -> Iterator[Chunk]:
        for index in range(1000):
            yield Chunk(index)

    iterator = chunks()
    first = weakref.ref(next(iterator))
    next(iterator)
    gc.collect()
    assert first() is None  # the span keeps the item's JSON, not the item
    assert sum(1 for _ in iterator) == 998
    assert Chunk.serialized < 10  # items past the cap are not serialized at all
    (span,) = exporter.get_finished_spans()
    output = span.attributes[semconv.JUDGEVAL_OUTPUT]
    assert output == '["chunk 0", "chunk…[truncated]'
