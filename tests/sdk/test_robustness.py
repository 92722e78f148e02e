"""The SDK never hurts the host app: cheap when not sampled, no internal error escapes, bounded queues."""

from __future__ import annotations

import asyncio
import threading

import pytest
from judgeval import environment_variables, semconv
from judgeval.data import Example
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.semconv import ScoreField, score_attribute
from judgeval.tracer import Tracer
from judgeval.tracer._local_scoring import LocalScoringExecutor, LocalScoringJob
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanContext, TraceFlags

from tests.support.spans import spans_by_name


class CountsSerialization:
    """An argument that counts how often the SDK tries to serialize it."""

    def __init__(self) -> None:
        self.calls = 0

    def __repr__(self) -> str:
        self.calls += 1
        return "<counted>"


def test_unsampled_calls_do_not_serialize_arguments():
    provider = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    judgment = Tracer(project_name="unsampled", tracer_provider=provider)
    argument = CountsSerialization()
    assert judgment.observe(lambda value: value)(argument) is argument
    assert argument.calls == 0


def test_only_the_part_of_a_huge_argument_that_fits_the_cap_is_serialized(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
):
    monkeypatch.setenv(environment_variables.JUDGEVAL_CAPTURE_MAX_CHARS, "20")
    judgment = Tracer(project_name="huge", tracer_provider=provider)
    beyond_the_cap = CountsSerialization()
    rows = [{"text": "x" * 1_000_000}] * 50 + [beyond_the_cap]
    judgment.observe(lambda rows: len(rows))(rows)
    assert beyond_the_cap.calls == 0
    (span,) = exporter.get_finished_spans()
    assert span.attributes[semconv.JUDGEVAL_INPUT] == '{"rows":…[truncated]'


def test_a_value_that_cannot_be_serialized_does_not_break_the_call(
    judgment: Tracer, exporter: InMemorySpanExporter
):
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    hostile = Hostile()
    assert judgment.observe(lambda value: value)(hostile) is hostile
    (span,) = exporter.get_finished_spans()
    assert "unserializable Hostile" in span.attributes[semconv.JUDGEVAL_OUTPUT]


async def test_concurrent_agents_keep_their_own_attribution(judgment: Tracer, exporter: InMemorySpanExporter):
    class Worker:
        def __init__(self, id: str) -> None:
            self.id = id

        @judgment.agent()
        @judgment.observe()
        async def step(self) -> str:
            await asyncio.sleep(0.01)
            return await self.inner()

        @judgment.observe()
        async def inner(self) -> str:
            await asyncio.sleep(0)
            return self.id

    assert await asyncio.gather(Worker("a").step(), Worker("b").step()) == ["a", "b"]
    for span in exporter.get_finished_spans():
        assert span.attributes[semconv.GEN_AI_AGENT_ID].endswith(
            ":" + span.attributes[semconv.JUDGEVAL_OUTPUT][1]
        )


class BlockingScorer(ExampleScorer):
    """Waits until the test releases it, so the executor's queue fills up."""

    async def a_score_example(self, example: Example) -> float:
        await asyncio.get_running_loop().run_in_executor(None, RELEASE.wait, 10)
        return 1.0


RELEASE = threading.Event()


def test_full_local_queue_drops_and_counts(provider: TracerProvider, exporter: InMemorySpanExporter):
    executor = LocalScoringExecutor(provider.get_tracer("test"), max_pending=2, concurrency=1)
    target = SpanContext(trace_id=1, span_id=2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    job = LocalScoringJob(scorer=BlockingScorer(), example=Example(), target=target)
    try:
        assert [executor.submit(job) for _ in range(4)] == [True, True, False, False]
        assert executor.dropped == 2
    finally:
        RELEASE.set()
    assert executor.drain(10)
    executor.close()
    assert not executor.submit(job)
    assert len([s for s in exporter.get_finished_spans() if s.name == "evaluate BlockingScorer"]) == 2


def test_flush_and_shutdown_leave_an_injected_provider_usable(
    judgment: Tracer, exporter: InMemorySpanExporter
):
    judgment.observe(lambda: None)()
    assert judgment.flush(timeout_millis=1000)
    judgment.shutdown(timeout_millis=1000)
    judgment.observe(lambda: None)()  # the app's provider was not shut down by us
    assert len(exporter.get_finished_spans()) == 2
    assert set(spans_by_name(exporter)) == {"<lambda>"}


class HangingScorer(ExampleScorer):
    """Never answers: its run must be cut off by the executor's timeout, freeing the slot."""

    async def a_score_example(self, example: Example) -> float:
        await asyncio.Event().wait()
        return 1.0


def test_a_hanging_local_scorer_times_out_into_an_error_score(
    provider: TracerProvider, exporter: InMemorySpanExporter
):
    executor = LocalScoringExecutor(provider.get_tracer("test"), concurrency=1, timeout_seconds=0.05)
    target = SpanContext(trace_id=1, span_id=2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    try:
        for _ in range(2):  # the second job only runs if the first one gave its slot back
            assert executor.submit(LocalScoringJob(scorer=HangingScorer(), example=Example(), target=target))
        assert executor.drain(30)
    finally:
        executor.close()
    scores = [s for s in exporter.get_finished_spans() if s.name == "evaluate HangingScorer"]
    assert len(scores) == 2
    for score in scores:
        assert score.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "failed"
        assert score.attributes[score_attribute("HangingScorer", ScoreField.ERROR)].startswith("timeout:")
        assert score.events[0].attributes[semconv.ERROR_TYPE] == "timeout"


HANDOFF = threading.Event()


class SyncWaitingScorer(ExampleScorer):
    """Blocks its thread (a synchronous wait, like a sync HTTP client) until the other scorer has run."""

    name: str = "sync waiter"

    async def a_score_example(self, example: Example) -> float:
        return 1.0 if HANDOFF.wait(15) else 0.0


class HandoffScorer(ExampleScorer):
    name: str = "handoff"

    async def a_score_example(self, example: Example) -> float:
        HANDOFF.set()
        return 1.0


def test_a_scorer_blocking_its_thread_does_not_hold_up_other_local_scores(
    provider: TracerProvider, exporter: InMemorySpanExporter
):
    executor = LocalScoringExecutor(provider.get_tracer("test"), concurrency=2)
    target = SpanContext(trace_id=1, span_id=2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    HANDOFF.clear()
    assert executor.submit(LocalScoringJob(scorer=SyncWaitingScorer(), example=Example(), target=target))
    assert executor.submit(LocalScoringJob(scorer=HandoffScorer(), example=Example(), target=target))
    assert executor.drain(30)
    executor.close()
    scores = {s.name: s.attributes[score_attribute(s.name[len("evaluate "):], ScoreField.VALUE)]
              for s in exporter.get_finished_spans()}
    # On one shared loop the waiter would block the handoff scorer and time out with 0.0.
    assert scores == {"evaluate sync waiter": 1.0, "evaluate handoff": 1.0}
