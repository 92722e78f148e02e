"""``server_hosted=False`` trace scorers: the in-process trajectory, the scorer run off the caller's thread,
the ``evaluate <scorer>`` result span and OTLP log record, and the memory bounds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from judgeval import semconv
from judgeval._internal_errors import reraise_internal_errors
from judgeval.data.trace import Trace
from judgeval.scorers import TraceScorer
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing import RecordedOpenAIServer
from judgeval.tracer import Tracer, TraceScorerConfig
from judgeval.tracer._local_scoring import LocalScoringExecutor
from judgeval.tracer._local_trajectories import LocalTrajectorySpanProcessor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class ToolLoopScorer(TraceScorer):
    """0 when one tool is called with the same arguments more than ``max_repeats`` times in a row."""

    name: str = "Tool Loop Scorer"
    max_repeats: int = 3
    seen: ClassVar[list[Trace]] = []
    threads: ClassVar[list[str]] = []

    async def a_score_trace(self, trace: Trace) -> float:
        ToolLoopScorer.seen.append(trace)
        ToolLoopScorer.threads.append(threading.current_thread().name)
        longest, worst, run, previous = 0, "", 0, None
        for call in trace.tool_calls():
            key = (call.name, json.dumps(call.arguments, sort_keys=True))
            run = run + 1 if key == previous else 1
            previous = key
            if run > longest:
                longest, worst = run, call.name
        if longest > self.max_repeats:
            self.reason = f"tool {worst!r} was called {longest} times in a row with the same arguments"
            return 0.0
        self.reason = f"no tool repeated more than {self.max_repeats} times in a row"
        return 1.0


class BrokenTraceScorer(TraceScorer):
    async def a_score_trace(self, trace: Trace) -> float:
        raise RuntimeError("judge unavailable")


@pytest.fixture(autouse=True)
def _forget_seen() -> None:
    ToolLoopScorer.seen.clear()
    ToolLoopScorer.threads.clear()


@pytest.fixture
def logs() -> InMemoryLogRecordExporter:
    return InMemoryLogRecordExporter()


@pytest.fixture
def scored(provider: TracerProvider, logs: InMemoryLogRecordExporter) -> Iterator[Tracer]:
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    yield Tracer(project_name="local-trace", tracer_provider=provider, logger_provider=logger_provider)
    logger_provider.shutdown()


def _agent(judgment: Tracer, scorer: TraceScorer, **config: Any) -> Any:
    class SearchAgent:
        @judgment.observe(span_type="tool")
        def search(self, query: str) -> str:
            return f"results for {query}"

        @judgment.agent()
        @judgment.observe(span_type="function", scorer_config=TraceScorerConfig(scorer=scorer, **config))
        def run(self, queries: list[str]) -> str:
            return " | ".join(self.search(q) for q in queries)

    return SearchAgent()


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def _score(span: ReadableSpan, field: ScoreField) -> Any:
    return span.attributes[score_attribute("Tool Loop Scorer", field)]


def test_a_tool_looped_four_times_scores_zero_naming_tool_and_count(
    scored: Tracer, exporter: InMemorySpanExporter, logs: InMemoryLogRecordExporter
):
    agent = _agent(scored, ToolLoopScorer())
    agent.run(["weather paris"] * 4)
    assert scored.flush()
    (bounding,) = _named(exporter, "run")
    (result,) = _named(exporter, "evaluate Tool Loop Scorer")
    assert result.parent is not None and result.parent.span_id == bounding.context.span_id
    assert result.context.trace_id == bounding.context.trace_id
    assert _score(result, ScoreField.VALUE) == 0.0
    assert _score(result, ScoreField.SUCCESS) is False
    assert _score(result, ScoreField.REASON) == (
        "tool 'search' was called 4 times in a row with the same arguments"
    )
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SCOPE] == "trace"
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == 5
    assert result.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "scored"
    assert result.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == "fail"
    assert result.attributes[semconv.JUDGEVAL_EVALUATED_SPAN_ID] == format(bounding.context.span_id, "016x")
    ((event_name, event),) = [(e.name, e.attributes) for e in result.events]
    assert event_name == semconv.GEN_AI_EVALUATION_RESULT_EVENT
    assert event[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "fail"
    # Local scoring writes nothing on the bounding span and routes nothing to the evaluator.
    assert semconv.JUDGEVAL_TRAJECTORY_REQUESTS not in bounding.attributes
    spans = exporter.get_finished_spans()
    assert all(s.context.trace_state.get(semconv.TRACESTATE_KEY) is None for s in spans)
    # The same result as an OTLP log record in the bounding span's context.
    (record,) = [r.log_record for r in logs.get_finished_logs()]
    assert record.event_name == semconv.GEN_AI_EVALUATION_RESULT_EVENT
    assert (record.trace_id, record.span_id) == (bounding.context.trace_id, bounding.context.span_id)
    assert record.attributes[semconv.GEN_AI_EVALUATION_NAME] == "Tool Loop Scorer"
    assert record.attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE] == 0.0
    assert record.attributes[semconv.JUDGEVAL_TRAJECTORY_SCOPE] == "trace"
    assert ToolLoopScorer.threads == ["judgeval-local-scoring"]  # never the caller's thread


def test_a_clean_run_scores_one(scored: Tracer, exporter: InMemorySpanExporter):
    _agent(scored, ToolLoopScorer()).run(["weather paris", "weather rome", "weather paris", "flights"])
    assert scored.flush()
    (result,) = _named(exporter, "evaluate Tool Loop Scorer")
    assert _score(result, ScoreField.VALUE) == 1.0
    assert _score(result, ScoreField.SUCCESS) is True
    assert result.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == "pass"


def test_the_scorer_sees_the_trajectory_as_the_evaluator_would(
    scored: Tracer, exporter: InMemorySpanExporter
):
    _agent(scored, ToolLoopScorer()).run(["a", "b"])
    assert scored.flush()
    (trace,) = ToolLoopScorer.seen
    (bounding,) = _named(exporter, "run")
    assert trace.scope == "trace" and trace.bounding_span_id == format(bounding.context.span_id, "016x")
    assert [s.span_name for s in trace.trace_spans] == ["run", "search", "search"]
    root = trace.bounding_span
    assert root is not None and root.span_kind == "function" and root.inputs == {"queries": ["a", "b"]}
    assert root.output == "results for a | results for b"
    calls = trace.tool_calls()
    assert [(c.name, c.arguments, c.result) for c in calls] == [
        ("search", {"query": "a"}, "results for a"), ("search", {"query": "b"}, "results for b")
    ]
    assert all(s.agent_name == "SearchAgent" for s in trace.trace_spans)
    assert trace.children(root) == list(trace.trace_spans[1:])
    assert {s.service_name for s in trace.trace_spans} == {str(bounding.resource.attributes["service.name"])}
    assert Trace.from_json_data(json.loads(json.dumps(trace.to_json_data()))) == trace


def test_errors_reach_the_scorer_and_a_failing_scorer_is_an_error_not_a_fail(
    scored: Tracer, exporter: InMemorySpanExporter
):
    @scored.observe(span_type="tool")
    def fetch() -> None:
        raise ValueError("upstream 503")

    @scored.observe(scorer_config=TraceScorerConfig(scorer=BrokenTraceScorer()))
    def run() -> None:
        with contextlib.suppress(ValueError):
            fetch()

    run()
    assert scored.flush()
    (result,) = _named(exporter, "evaluate BrokenTraceScorer")
    assert result.attributes[score_attribute("BrokenTraceScorer", ScoreField.ERROR)] == (
        "RuntimeError: judge unavailable"
    )
    assert result.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == "error"
    assert semconv.JUDGEVAL_EVAL_SUCCESS not in result.attributes

    _agent_scorer = ToolLoopScorer()

    @scored.observe(scorer_config=TraceScorerConfig(scorer=_agent_scorer))
    def again() -> None:
        with contextlib.suppress(ValueError):
            fetch()

    again()
    assert scored.flush()
    (trace,) = ToolLoopScorer.seen
    (failed,) = trace.tool_calls()
    assert failed.error == "ValueError: upstream 503"


def test_each_run_gets_its_own_reason(scored: Tracer, exporter: InMemorySpanExporter):
    scorer = ToolLoopScorer()
    agent = _agent(scored, scorer)
    agent.run(["x"] * 5)
    agent.run(["x"])
    assert scored.flush()
    reasons = sorted(_score(s, ScoreField.REASON) for s in _named(exporter, "evaluate Tool Loop Scorer"))
    assert reasons == ["no tool repeated more than 3 times in a row",
                       "tool 'search' was called 5 times in a row with the same arguments"]
    assert scorer.reason is None  # the user's instance is never written to


def test_nested_bounding_spans_each_get_their_trajectory(scored: Tracer, exporter: InMemorySpanExporter):
    inner_agent = _agent(scored, ToolLoopScorer(name="Inner Loop"))

    @scored.observe(scorer_config=TraceScorerConfig(scorer=ToolLoopScorer()))
    def outer() -> None:
        inner_agent.run(["q"] * 4)

    outer()
    assert scored.flush()
    counts = sorted(len(t.trace_spans) for t in ToolLoopScorer.seen)
    assert counts == [5, 6]  # inner: run + 4 searches; outer: itself too


def test_open_trajectories_are_bounded_and_counted(
    scored: Tracer, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
):
    collector = scored._local_trajectories()
    assert isinstance(collector, LocalTrajectorySpanProcessor)
    collector._max_open = 1

    @scored.observe(scorer_config=TraceScorerConfig(scorer=ToolLoopScorer(name="Inner")))
    def inner() -> None:
        return None

    @scored.observe(scorer_config=TraceScorerConfig(scorer=ToolLoopScorer()))
    def outer() -> None:
        inner()  # a second open trajectory: over the bound

    with caplog.at_level(logging.WARNING, logger="judgeval"):
        outer()
    assert scored.flush()
    assert collector.refused_trajectories == 1
    assert "1 trajectories with a local trace scorer are already open; 1 calls ran unscored" in caplog.text
    assert [s.name for s in exporter.get_finished_spans() if s.name.startswith("evaluate")] == [
        "evaluate Tool Loop Scorer"
    ]
    assert collector.open_count == 0


def test_spans_per_trajectory_are_bounded_and_counted(
    scored: Tracer, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
):
    collector = scored._local_trajectories()
    assert isinstance(collector, LocalTrajectorySpanProcessor)
    collector._max_spans = 3
    with caplog.at_level(logging.WARNING, logger="judgeval"), reraise_internal_errors(False):
        _agent(scored, ToolLoopScorer()).run(["q"] * 6)
    assert scored.flush()
    (trace,) = ToolLoopScorer.seen
    # The first three spans to finish (searches) and the bounding span; three searches counted as dropped.
    assert [s.span_name for s in trace.trace_spans] == ["run", "search", "search", "search"]
    assert collector.dropped_spans == 3
    assert "cap of 3 spans; 2 spans left out of local trace scoring so far" in caplog.text
    (result,) = _named(exporter, "evaluate Tool Loop Scorer")
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == 4


def test_third_party_llm_spans_are_llm_calls_with_their_messages(
    scored: Tracer, provider: TracerProvider, openai_server: RecordedOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
):
    official = pytest.importorskip("opentelemetry.instrumentation.genai.openai")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")
    instrumentor = official.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        import openai

        client = openai.OpenAI(base_url=openai_server.base_url, api_key="test")

        @scored.observe(scorer_config=TraceScorerConfig(scorer=ToolLoopScorer()))
        def ask() -> None:
            client.chat.completions.create(
                model="gpt-5-mini", messages=[{"role": "user", "content": "Where is my package?"}]
            )

        ask()
    finally:
        instrumentor.uninstrument()
    assert scored.flush()
    (trace,) = ToolLoopScorer.seen
    (llm,) = trace.llm_calls()
    assert llm.span_kind == "chat" and llm.otel_kind == "client"
    assert llm.span_attributes[semconv.GEN_AI_REQUEST_MODEL] == "gpt-5-mini"
    assert "Where is my package?" in json.dumps(llm.inputs)
    assert llm.output is not None


class SlowTraceScorer(TraceScorer):
    async def a_score_trace(self, trace: Trace) -> float:
        await asyncio.sleep(30)
        return 1.0


class WrongTypeScorer(TraceScorer):
    async def a_score_trace(self, trace: Trace) -> float:
        return "high"  # type: ignore[return-value]


def test_a_hanging_or_malformed_scorer_becomes_an_error_score(scored: Tracer, exporter: InMemorySpanExporter):
    state = scored._state
    assert state is not None
    state.local_scoring = LocalScoringExecutor(scored.otel_tracer, timeout_seconds=0.2)

    @scored.observe(scorer_config=TraceScorerConfig(scorer=SlowTraceScorer()))
    def slow() -> None:
        return None

    @scored.observe(scorer_config=TraceScorerConfig(scorer=WrongTypeScorer()))
    def wrong() -> None:
        return None

    slow()
    wrong()
    assert scored.flush()
    (timed_out,) = _named(exporter, "evaluate SlowTraceScorer")
    assert timed_out.attributes[score_attribute("SlowTraceScorer", ScoreField.ERROR)] == (
        "timeout: no answer within 0.2s"
    )
    (malformed,) = _named(exporter, "evaluate WrongTypeScorer")
    assert "a_score_trace must return a finite number, got 'high'" in str(
        malformed.attributes[score_attribute("WrongTypeScorer", ScoreField.ERROR)]
    )


def test_concurrent_trajectories_keep_their_own_spans(scored: Tracer, exporter: InMemorySpanExporter):
    agent = _agent(scored, ToolLoopScorer())
    repeats = {f"q{i}": i + 2 for i in range(4)}  # 2..5 identical searches per thread
    threads = [threading.Thread(target=agent.run, args=([q] * n,)) for q, n in repeats.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert scored.flush()
    seen = {t.bounding_span.inputs["queries"][0]: t for t in ToolLoopScorer.seen}  # type: ignore[union-attr]
    assert {q: len(t.tool_calls()) for q, t in seen.items()} == repeats
    for query, trace in seen.items():
        assert {c.arguments["query"] for c in trace.tool_calls()} == {query}
    values = sorted(_score(s, ScoreField.VALUE) for s in _named(exporter, "evaluate Tool Loop Scorer"))
    assert values == [0.0, 0.0, 1.0, 1.0]  # the threads that searched 4 and 5 times looped past 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_without_the_parents_open_trajectories(scored: Tracer):
    collector = scored._local_trajectories()
    assert isinstance(collector, LocalTrajectorySpanProcessor)
    seen: dict[str, int] = {}

    @scored.observe(scorer_config=TraceScorerConfig(scorer=ToolLoopScorer()))
    def run() -> None:
        seen["open in parent"] = collector.open_count
        pid = os.fork()
        if pid == 0:  # the child: nothing open, and the lock is free
            os._exit(0 if collector.open_count == 0 and collector._lock.acquire(timeout=5) else 1)
        _, status = os.waitpid(pid, 0)
        seen["child exit"] = os.waitstatus_to_exitcode(status)

    run()
    assert seen == {"open in parent": 1, "child exit": 0}
    assert collector.open_count == 0
