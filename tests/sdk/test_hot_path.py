"""The fast paths of the hot code give exactly what the general code gives."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from judgeval import semconv
from judgeval.data import Example
from judgeval.protocol.evaluation_request import EvaluationRequest, append_request, decode_requests
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.tracer import Tracer
from judgeval.tracer._capture import to_json
from judgeval.tracer._decorators import argument_recorder
from judgeval.tracer._evaluation_payload import encode_request, json_fields, scorer_ref
from judgeval.tracer._provider import (
    DEFAULT_BSP_MAX_QUEUE_SIZE,
    DEFAULT_BSP_SCHEDULE_DELAY_MILLIS,
    build_resource,
    create_batch_processor,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def plain(a, b=2): ...
def method(self, a, b=2): ...
def star(a, *rest, **extra): ...
def keyword_only(a, *, b): ...
def positional_only(a, /, b): ...


def _bind_partial(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        bound = inspect.signature(func).bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), "kwargs": kwargs}
    return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}


@pytest.mark.parametrize("func", [plain, method, star, keyword_only, positional_only])
@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((1,), {}),
        ((1, 2), {}),
        ((1, 2, 3), {}),
        ((), {"b": 5, "a": 4}),
        ((1,), {"a": 1}),
        ((1,), {"zzz": 0}),
        ((1,), {"b": 3}),
    ],
)
def test_recorded_arguments_are_those_bind_partial_gives(func: Any, args: tuple, kwargs: dict):
    recorded = argument_recorder(func)(args, kwargs)
    expected = _bind_partial(func, args, kwargs)
    assert recorded == expected
    assert list(recorded) == list(expected)  # the same order, hence the same JSON


@pytest.mark.parametrize(
    "value", ["é" * 3, "x" * 40, {"a": "b", "n": 1.5, "t": None}, {"a": "x" * 40}, [1, (2,)]]
)
def test_captured_json_is_json_dumps_capped(value: Any):
    assert to_json(value, 20) == to_json(json.loads(json.dumps(value, ensure_ascii=False)), 20)
    expected = json.dumps(value, ensure_ascii=False)
    assert to_json(value, 1000) == expected


class Rubric(ExampleScorer):
    name: str = "Rubric"
    server_hosted: bool = True
    rubric: str = "be polite"


def test_encoded_request_matches_the_protocol_encoder_and_follows_changes_to_the_scorer():
    scorer, example = Rubric(), Example(request="hi", count=3)

    def expected() -> object:
        request = EvaluationRequest(scorer=scorer_ref(scorer), example=example.model_dump(mode="json"))
        return json.loads(append_request(None, request))

    assert json.loads(f"[{encode_request(scorer, example, 1.0)}]") == expected()
    scorer.rubric = "be brief"  # a reassigned field must not be served from the cache
    scorer.extra_knob = 7  # type: ignore[attr-defined]  # extra fields are config too
    assert json.loads(f"[{encode_request(scorer, example, 1.0)}]") == expected()
    (request,) = decode_requests(f"[{encode_request(scorer, example, 1.0)}]")
    assert request.scorer.config == {"rubric": "be brief", "extra_knob": 7}


@pytest.mark.parametrize(
    "example",
    [
        Example(text="héllo ✓", n=3, ok=True, none=None),
        Example(score=float("inf"), ratio=0.1, big=1e16, nested={"a": [1, 2.5, "x"]}),
        Example(when=datetime(2026, 11, 26, 12, 0, tzinfo=UTC), tags=("b", "a")),
        Example(obj=object()),  # pydantic cannot serialize it: the str() fallback
    ],
    ids=["unicode", "floats", "datetime", "object"],
)
def test_example_json_decodes_to_the_dump_append_request_writes(example: Example):
    request = EvaluationRequest(scorer=scorer_ref(Rubric()), example=json_fields(example))
    expected = json.loads(append_request(None, request))
    assert json.loads(f"[{encode_request(Rubric(), example, 1.0)}]") == expected
    # the evaluator reads both the same (the protocol's decoder is the judge)
    assert decode_requests(f"[{encode_request(Rubric(), example, 0.25)}]") == decode_requests(
        append_request(None, EvaluationRequest(request.scorer, request.example, 0.25))
    )


def test_two_projects_on_one_provider_each_name_their_spans(exporter: InMemorySpanExporter):
    provider = TracerProvider(resource=build_resource("first"), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    first = Tracer(project_name="first", tracer_provider=provider)

    @first.observe()
    def alone() -> None: ...

    alone()
    second = Tracer(project_name="second", tracer_provider=provider)

    @first.observe()
    def one() -> None: ...

    @second.observe()
    def two() -> None: ...

    one()
    two()
    provider.shutdown()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["alone"].resource.attributes[semconv.JUDGEVAL_PROJECT_NAME] == "first"
    assert semconv.JUDGEVAL_PROJECT_NAME not in spans["alone"].attributes  # the resource says it
    assert spans["one"].attributes[semconv.JUDGEVAL_PROJECT_NAME] == "first"
    assert spans["two"].attributes[semconv.JUDGEVAL_PROJECT_NAME] == "second"


def test_batch_defaults_apply_only_where_the_user_set_nothing(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OTEL_BSP_MAX_QUEUE_SIZE", raising=False)
    monkeypatch.delenv("OTEL_BSP_SCHEDULE_DELAY", raising=False)
    ours = create_batch_processor(InMemorySpanExporter())
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "1024")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "250")
    users = create_batch_processor(InMemorySpanExporter())
    try:
        # the SDK keeps the settings only privately
        assert ours._batch_processor._max_queue_size == DEFAULT_BSP_MAX_QUEUE_SIZE
        assert ours._batch_processor._schedule_delay_millis == DEFAULT_BSP_SCHEDULE_DELAY_MILLIS
        assert users._batch_processor._max_queue_size == 1024
        assert users._batch_processor._schedule_delay_millis == 250
    finally:
        ours.shutdown()
        users.shutdown()


def test_known_classes_in_the_wrong_argument_still_warn(judgment: Tracer):
    from judgeval.tracer import JudgevalUsageWarning

    scorer, example = Rubric(), Example(request="hi")
    with judgment.otel_tracer.start_as_current_span("turn"):
        judgment.async_evaluate(scorer, example, sampling_rate=0.0)  # both classes now known valid
        with pytest.warns(JudgevalUsageWarning, match="needs a judgeval.data.Example"):
            judgment.async_evaluate(scorer, scorer, sampling_rate=0.0)
        with pytest.warns(JudgevalUsageWarning, match="needs an ExampleScorer"):
            judgment.async_evaluate(example, example, sampling_rate=0.0)
        with pytest.warns(JudgevalUsageWarning, match="sampling_rate"):
            judgment.async_evaluate(scorer, example, sampling_rate=-0.5)
