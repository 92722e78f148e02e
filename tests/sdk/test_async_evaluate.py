"""``async_evaluate``: deterministic sampling, the hosted-scoring tag, local scorers, misuse warnings."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import ClassVar

import pytest
from judgeval import environment_variables, semconv
from judgeval.data import Example
from judgeval.protocol.evaluation_request import decode_requests
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.semconv import ScoreField, score_attribute
from judgeval.tracer import JudgevalUsageWarning, Tracer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from tests.support.spans import spans_by_name


class Reply(Example):
    request: str
    response: str


class HostedScorer(ExampleScorer):
    name: str = "Hosted Judge"
    server_hosted: bool = True
    rubric: str = "be polite"


class LengthScorer(ExampleScorer):
    """Local scorer: passes when the response is long enough; sets a reason per run."""

    min_chars: int = 5

    async def a_score_example(self, example: Reply) -> float:
        await asyncio.sleep(0)
        self.reason = f"{len(example.response)} chars"
        return 1.0 if len(example.response) >= self.min_chars else 0.0


class BrokenScorer(ExampleScorer):
    async def a_score_example(self, example: Example) -> float:
        raise RuntimeError("judge unavailable")


def _evaluate_in_span(judgment: Tracer, scorer: ExampleScorer, response: str = "hello world", rate=1.0):
    @judgment.observe()
    def handle() -> None:
        judgment.async_evaluate(
            scorer=scorer, example=Reply(request="hi", response=response), sampling_rate=rate
        )

    handle()


def test_hosted_scorer_tags_the_current_span(judgment: Tracer, exporter: InMemorySpanExporter):
    _evaluate_in_span(judgment, HostedScorer(threshold=0.7))
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "pending"
    assert span.attributes[semconv.JUDGEVAL_EVAL_SCORERS] == ("Hosted Judge",)
    (request,) = decode_requests(span.attributes[semconv.JUDGEVAL_EVAL_REQUESTS])
    assert request.scorer.name == "Hosted Judge"
    assert request.scorer.class_path == f"{__name__}.HostedScorer"
    assert request.scorer.threshold == 0.7
    assert request.scorer.server_hosted is True
    assert request.scorer.config == {"rubric": "be polite"}
    assert request.example == {"request": "hi", "response": "hello world"}
    assert request.sampling_rate == 1.0


def test_several_evaluations_on_one_span_accumulate(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe()
    def handle() -> None:
        example = Example(question="q", answer="a")
        judgment.async_evaluate(scorer=HostedScorer(), example=example)
        judgment.async_evaluate(scorer=HostedScorer(name="Second"), example=example)

    handle()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.JUDGEVAL_EVAL_SCORERS] == ("Hosted Judge", "Second")
    requests = decode_requests(span.attributes[semconv.JUDGEVAL_EVAL_REQUESTS])
    assert [r.scorer.name for r in requests] == ["Hosted Judge", "Second"]
    assert requests[0].example == {"question": "q", "answer": "a"}


def test_rate_zero_never_tags(judgment: Tracer, exporter: InMemorySpanExporter):
    _evaluate_in_span(judgment, HostedScorer(), rate=0.0)
    (span,) = exporter.get_finished_spans()
    assert semconv.JUDGEVAL_EVAL_STATUS not in span.attributes


def test_evaluations_disabled_leaves_span_untagged(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
):
    monkeypatch.setenv(environment_variables.JUDGMENT_EVALUATIONS, "false")
    judgment = Tracer(project_name="no-evals", tracer_provider=provider)
    _evaluate_in_span(judgment, HostedScorer())
    (span,) = exporter.get_finished_spans()
    assert span.name == "handle"  # tracing continues
    assert semconv.JUDGEVAL_EVAL_STATUS not in span.attributes


@pytest.mark.parametrize("rate", [1.5, -0.1, "0.5", None, True, float("nan")])
def test_invalid_sampling_rate_warns_and_is_ignored(
    judgment: Tracer, exporter: InMemorySpanExporter, rate: object
):
    with pytest.warns(JudgevalUsageWarning, match="sampling_rate") as warned:
        _evaluate_in_span(judgment, HostedScorer(), rate=rate)
    ours = [w for w in warned if issubclass(w.category, JudgevalUsageWarning)]
    seen = [(w.category.__name__, w.filename, str(w.message)[:80]) for w in warned]
    # The warning points at the user's call, not at judgeval. (pytest.warns records every thread's
    # warnings, so a background thread's could come first: look for this call's.)
    assert any(w.filename == __file__ for w in ours), seen
    (span,) = exporter.get_finished_spans()
    assert semconv.JUDGEVAL_EVAL_STATUS not in span.attributes


@pytest.mark.parametrize("rate", [-0.1, float("nan"), 2])
def test_a_bad_rate_warns_even_once_the_classes_are_known_good(judgment: Tracer, rate: float):
    _evaluate_in_span(judgment, HostedScorer(), rate=0.0)  # the classes pass validation and are remembered
    with pytest.warns(JudgevalUsageWarning, match="sampling_rate"):
        _evaluate_in_span(judgment, HostedScorer(), rate=rate)


def test_outside_any_span_warns_even_at_rate_zero_with_known_classes(judgment: Tracer):
    _evaluate_in_span(judgment, HostedScorer(), rate=0.0)
    with pytest.warns(JudgevalUsageWarning, match="outside any traced span"):
        judgment.async_evaluate(HostedScorer(), Reply(request="hi", response="x"), sampling_rate=0.0)


def test_wrong_scorer_and_example_types_warn(judgment: Tracer):
    with pytest.warns(JudgevalUsageWarning, match="ExampleScorer"):
        judgment.async_evaluate(scorer="judge", example=Example())
    with pytest.warns(JudgevalUsageWarning, match="Example"):
        judgment.async_evaluate(scorer=HostedScorer(), example={"request": "hi"})


def test_call_outside_any_span_warns(judgment: Tracer):
    with pytest.warns(JudgevalUsageWarning, match="outside any traced span"):
        judgment.async_evaluate(scorer=HostedScorer(), example=Example())


def test_local_scorer_emits_a_child_score_span(judgment: Tracer, exporter: InMemorySpanExporter):
    scorer = LengthScorer(threshold=0.5)
    _evaluate_in_span(judgment, scorer, response="long enough")
    assert judgment.flush(5000)
    spans = spans_by_name(exporter)
    handle, score = spans["handle"], spans["evaluate LengthScorer"]
    assert semconv.JUDGEVAL_EVAL_STATUS not in handle.attributes
    assert score.parent.span_id == handle.context.span_id
    assert score.context.trace_id == handle.context.trace_id
    attrs = score.attributes
    assert attrs[semconv.JUDGEVAL_SPAN_TYPE] == "evaluation"
    assert attrs[semconv.JUDGEVAL_EVALUATED_SPAN_ID] == f"{handle.context.span_id:016x}"
    assert attrs[semconv.JUDGEVAL_EVAL_STATUS] == "scored"
    assert attrs[score_attribute("LengthScorer", ScoreField.VALUE)] == 1.0
    assert attrs[score_attribute("LengthScorer", ScoreField.SUCCESS)] is True
    assert attrs[score_attribute("LengthScorer", ScoreField.REASON)] == "11 chars"
    (event,) = score.events
    assert event.name == semconv.GEN_AI_EVALUATION_RESULT_EVENT
    assert event.attributes[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "pass"
    assert event.attributes[semconv.GEN_AI_EVALUATION_EXPLANATION] == "11 chars"
    assert scorer.reason is None  # each run scores a private copy


def test_concurrent_local_runs_keep_their_own_reasons(judgment: Tracer, exporter: InMemorySpanExporter):
    scorer = LengthScorer()
    for response in ("a", "abcdef", "abc"):
        _evaluate_in_span(judgment, scorer, response=response)
    assert judgment.flush(5000)
    reasons = sorted(
        s.attributes[score_attribute("LengthScorer", ScoreField.REASON)]
        for s in exporter.get_finished_spans()
        if s.name.startswith("evaluate")
    )
    assert reasons == ["1 chars", "3 chars", "6 chars"]


def test_failing_local_scorer_produces_an_error_score(judgment: Tracer, exporter: InMemorySpanExporter):
    _evaluate_in_span(judgment, BrokenScorer())
    assert judgment.flush(5000)
    score = spans_by_name(exporter)["evaluate BrokenScorer"]
    assert score.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "failed"
    assert "judge unavailable" in score.attributes[score_attribute("BrokenScorer", ScoreField.ERROR)]
    assert score.events[0].attributes[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "error"


def test_payload_is_json_even_for_odd_config(judgment: Tracer, exporter: InMemorySpanExporter):
    class Configured(HostedScorer):
        weights: tuple[float, ...] = (0.5, 0.5)

    _evaluate_in_span(judgment, Configured())
    (span,) = exporter.get_finished_spans()
    assert json.loads(span.attributes[semconv.JUDGEVAL_EVAL_REQUESTS])[0]["scorer"]["config"] == {
        "rubric": "be polite",
        "weights": [0.5, 0.5],
    }


def test_example_fields_json_cannot_hold_are_sent_as_text(judgment: Tracer, exporter: InMemorySpanExporter):
    class Ticket:
        def __str__(self) -> str:
            return "ticket #7"

    @judgment.observe()
    def handle() -> None:
        judgment.async_evaluate(scorer=HostedScorer(), example=Example(request="hi", ticket=Ticket()))

    handle()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "pending"
    (request,) = decode_requests(span.attributes[semconv.JUDGEVAL_EVAL_REQUESTS])
    assert request.example == {"request": "hi", "ticket": "ticket #7"}


class CountingScorer(ExampleScorer):
    runs: ClassVar[list[str]] = []

    async def a_score_example(self, example: Example) -> float:
        CountingScorer.runs.append("ran")
        return 1.0


def test_unrecorded_spans_are_never_scored(exporter: InMemorySpanExporter):
    provider = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    judgment = Tracer(project_name="unsampled", tracer_provider=provider)
    CountingScorer.runs.clear()
    try:
        _evaluate_in_span(judgment, CountingScorer())
        _evaluate_in_span(judgment, HostedScorer())
        assert judgment.flush(5000)
    finally:
        judgment.shutdown()
        provider.shutdown()
    assert CountingScorer.runs == []
    assert exporter.get_finished_spans() == ()


class QuietScorer(ExampleScorer):
    """Gives no reason of its own."""

    async def a_score_example(self, example: Example) -> float:
        return 1.0


def test_a_reused_scorer_instance_does_not_leak_an_old_reason(
    judgment: Tracer, exporter: InMemorySpanExporter
):
    scorer = QuietScorer(reason="from an earlier manual run")
    _evaluate_in_span(judgment, scorer)
    assert judgment.flush(5000)
    score = spans_by_name(exporter)["evaluate QuietScorer"]
    assert score_attribute("QuietScorer", ScoreField.REASON) not in score.attributes
    assert semconv.GEN_AI_EVALUATION_EXPLANATION not in score.events[0].attributes


def test_threads_evaluating_on_one_span_lose_no_request(judgment: Tracer, exporter: InMemorySpanExporter):
    calls_per_thread, threads = 50, 8

    def evaluate_many(span: trace.Span) -> None:
        with trace.use_span(span):
            for i in range(calls_per_thread):
                judgment.async_evaluate(scorer=HostedScorer(), example=Example(i=i))

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as much as possible
    try:
        with judgment.otel_tracer.start_as_current_span("shared") as shared:
            callers = [threading.Thread(target=evaluate_many, args=(shared,)) for _ in range(threads)]
            for caller in callers:
                caller.start()
            for caller in callers:
                caller.join()
    finally:
        sys.setswitchinterval(switch_interval)
    (span,) = exporter.get_finished_spans()
    assert len(decode_requests(span.attributes[semconv.JUDGEVAL_EVAL_REQUESTS])) == calls_per_thread * threads


def test_a_request_longer_than_the_attribute_limit_warns_and_still_reaches_the_evaluator(
    monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter
):
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "60")
    provider = TracerProvider(shutdown_on_exit=False)  # reads the limit, as an app's provider would
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    judgment = Tracer(project_name="limits", tracer_provider=provider)
    with pytest.warns(JudgevalUsageWarning, match="over the span attribute length limit of 60") as warned:
        _evaluate_in_span(judgment, HostedScorer())
    assert any(w.filename == __file__ for w in warned)  # points at the user's call
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "pending"  # the evaluator says why it failed
    assert len(span.attributes[semconv.JUDGEVAL_EVAL_REQUESTS]) == 60
    provider.shutdown()
