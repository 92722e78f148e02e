"""``observe(scorer_config=TraceScorerConfig(...))``: validation, sampling, run_condition, the request
payload on the bounding span, the ``judgeval=t`` tracestate member below it, and the env switches."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from judgeval import environment_variables, semconv
from judgeval._internal_errors import reraise_internal_errors
from judgeval.errors import JudgevalError
from judgeval.protocol.sampling import is_sampled
from judgeval.protocol.trajectory_request import (
    TrajectoryRequest,
    decode_trajectory_requests,
    encode_trajectory_request,
)
from judgeval.scorers import TraceScorer
from judgeval.scorers.example_scorer import ExampleScorer
from judgeval.tracer import InvalidTraceScorerConfig, JudgevalUsageWarning, Tracer, TraceScorerConfig
from judgeval.tracer._evaluation_payload import scorer_ref
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.span import TraceState

from tests.support.ids import SeededIdGenerator, first_trace_ids


class HostedLoopScorer(TraceScorer):
    name: str = "Tool Loop Scorer"
    server_hosted: bool = True
    max_repeats: int = 3


def _hosted(**kwargs: object) -> TraceScorerConfig:
    return TraceScorerConfig(scorer=HostedLoopScorer(), **kwargs)  # type: ignore[arg-type]


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def _marker(span_context: SpanContext) -> str | None:
    return span_context.trace_state.get(semconv.TRACESTATE_KEY)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scorer": ExampleScorer()}, "needs a TraceScorer instance, got ExampleScorer"),
        ({"scorer": HostedLoopScorer(), "sampling_rate": 1.5}, "sampling_rate=1.5"),
        ({"scorer": HostedLoopScorer(), "sampling_rate": True}, "between 0.0 and 1.0"),
        ({"scorer": HostedLoopScorer(), "sampling_rate": float("nan")}, "between 0.0 and 1.0"),
        ({"scorer": HostedLoopScorer(), "model": 4}, "model=4"),
        ({"scorer": HostedLoopScorer(), "run_condition": "yes"}, "must be a callable"),
        ({"scorer": HostedLoopScorer(), "scope": "span"}, "trace, session"),
        ({"scorer": HostedLoopScorer(server_hosted=False), "scope": "session"}, "needs a server_hosted=True"),
    ],
)
def test_config_rejects_what_cannot_work(kwargs: dict[str, object], message: str):
    with pytest.raises(InvalidTraceScorerConfig, match=message) as caught:
        TraceScorerConfig(**kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, JudgevalError) and isinstance(caught.value, ValueError)


def test_trace_scorer_defaults_and_base_must_be_implemented():
    scorer = HostedLoopScorer()
    assert (scorer.name, scorer.threshold, scorer.server_hosted) == ("Tool Loop Scorer", 0.5, True)

    class Unnamed(TraceScorer):
        pass

    assert Unnamed().name == "Unnamed" and Unnamed().server_hosted is False
    with pytest.raises(NotImplementedError, match="a_score_trace"):
        asyncio.run(TraceScorer().a_score_trace(None))


def test_sampled_call_writes_the_request_and_marks_spans_below(
    judgment: Tracer, exporter: InMemorySpanExporter
):
    seen: dict[str, SpanContext] = {}

    @judgment.observe(span_type="tool")
    def lookup(city: str) -> str:
        seen["current in tool"] = trace.get_current_span().get_span_context()
        return city.upper()

    @judgment.observe(scorer_config=_hosted(model="gpt-4.1"))
    def run(task: str) -> str:
        current = trace.get_current_span()
        seen["current"] = current.get_span_context()
        current.set_attribute("user.key", "kept")  # user code still writes to the real span
        return lookup(task)

    assert run("paris") == "PARIS"
    (bounding,) = _named(exporter, "run")
    (tool,) = _named(exporter, "lookup")
    requests = decode_trajectory_requests(bounding.attributes[semconv.JUDGEVAL_TRAJECTORY_REQUESTS])
    scorer = HostedLoopScorer()
    expected = TrajectoryRequest(scorer=scorer_ref(scorer), scope="trace", sampling_rate=1.0, model="gpt-4.1")
    assert [encode_trajectory_request(r) for r in requests] == [encode_trajectory_request(expected)]
    assert requests[0].scorer.config == {"max_repeats": 3}
    assert bounding.attributes[semconv.JUDGEVAL_TRAJECTORY_SCORERS] == ("Tool Loop Scorer",)
    assert bounding.attributes["user.key"] == "kept"
    # The current span inside the call reports the member; the span itself is the real, exported one.
    assert _marker(seen["current"]) == "t"
    assert seen["current"].span_id == bounding.context.span_id
    assert _marker(tool.context) == "t" and _marker(seen["current in tool"]) == "t"
    assert tool.parent is not None and tool.parent.span_id == bounding.context.span_id
    assert semconv.JUDGEVAL_EVAL_STATUS not in bounding.attributes  # not a span-level request


def test_users_tracestate_members_are_kept(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe(scorer_config=_hosted())
    def run() -> None:
        with judgment.otel_tracer.start_as_current_span("inner"):
            pass

    remote = SpanContext(
        trace_id=0x0123456789ABCDEF0000000000000001, span_id=0x1111, is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "abc"), ("other", "1")]),
    )
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        run()
    finally:
        otel_context.detach(token)
    (inner,) = _named(exporter, "inner")
    assert list(inner.context.trace_state.items()) == [("judgeval", "t"), ("vendor", "abc"), ("other", "1")]


def test_sampling_follows_the_shared_trace_id_rule(exporter: InMemorySpanExporter):
    provider = TracerProvider(id_generator=SeededIdGenerator(7), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    judgment = Tracer(project_name="sampling", tracer_provider=provider)

    @judgment.observe(scorer_config=_hosted(sampling_rate=0.3))
    def run() -> None:
        return None

    for _ in range(120):
        run()
    tagged = {s.context.trace_id for s in exporter.get_finished_spans()
              if semconv.JUDGEVAL_TRAJECTORY_REQUESTS in s.attributes}
    expected = {t for t in first_trace_ids(7, 120) if is_sampled(t, 0.3)}
    assert tagged == expected and 0 < len(expected) < 120
    provider.shutdown()


def test_run_condition_decides_per_call_from_the_arguments(judgment: Tracer, exporter: InMemorySpanExporter):
    class Agent:
        @judgment.observe(scorer_config=_hosted(run_condition=lambda agent, task, *, urgent=False: urgent))
        def run(self, task: str, *, urgent: bool = False) -> str:
            return task

    agent = Agent()
    agent.run("a")
    agent.run("b", urgent=True)
    first, second = _named(exporter, "run")
    assert semconv.JUDGEVAL_TRAJECTORY_REQUESTS not in first.attributes
    assert semconv.JUDGEVAL_TRAJECTORY_REQUESTS in second.attributes


def _raises(*args: object) -> bool:
    raise KeyError("no such field")


def test_a_raising_run_condition_leaves_the_call_unscored_in_production(
    judgment: Tracer, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
):
    @judgment.observe(scorer_config=_hosted(run_condition=_raises))
    def run(task: str) -> str:
        return task * 2

    with reraise_internal_errors(False), caplog.at_level(logging.ERROR, logger="judgeval"):
        assert run("x") == "xx"
    (span,) = _named(exporter, "run")
    assert semconv.JUDGEVAL_TRAJECTORY_REQUESTS not in span.attributes
    assert "run_condition of the trace scorer 'Tool Loop Scorer' raised" in caplog.text


def test_a_raising_run_condition_is_reraised_under_pytest(judgment: Tracer, exporter: InMemorySpanExporter):
    @judgment.observe(scorer_config=_hosted(run_condition=_raises))
    def run() -> None:
        raise AssertionError("the call must not run")

    with pytest.raises(KeyError, match="no such field"):
        run()
    (span,) = _named(exporter, "run")  # ended, not leaked
    assert span.end_time is not None


async def test_async_and_generator_functions_are_bounded_too(
    judgment: Tracer, exporter: InMemorySpanExporter
):
    markers: list[str | None] = []

    @judgment.observe(scorer_config=_hosted())
    async def arun() -> int:
        await asyncio.sleep(0)
        markers.append(_marker(trace.get_current_span().get_span_context()))
        return 1

    @judgment.observe(scorer_config=_hosted())
    def steps():
        for i in range(2):
            markers.append(_marker(trace.get_current_span().get_span_context()))
            yield i

    assert await arun() == 1
    assert list(steps()) == [0, 1]
    markers.append(_marker(trace.get_current_span().get_span_context()))  # outside: nothing leaked
    assert markers == ["t", "t", "t", None]
    for name in ("arun", "steps"):
        (span,) = _named(exporter, name)
        assert semconv.JUDGEVAL_TRAJECTORY_REQUESTS in span.attributes


def test_agent_stacks_keep_agent_attribution(judgment: Tracer, exporter: InMemorySpanExporter):
    class Planner:
        @judgment.agent()
        @judgment.observe(scorer_config=_hosted())
        def plan(self, goal: str) -> str:
            return self.step(goal)

        @judgment.observe(span_type="tool")
        def step(self, goal: str) -> str:
            return goal

    Planner().plan("ship")
    (plan,) = _named(exporter, "plan")
    (step,) = _named(exporter, "step")
    assert plan.attributes[semconv.GEN_AI_AGENT_NAME] == "Planner"
    assert step.attributes[semconv.GEN_AI_AGENT_NAME] == "Planner"
    assert _marker(step.context) == "t"


def test_evaluations_off_traces_without_requesting(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
):
    monkeypatch.setenv(environment_variables.JUDGMENT_EVALUATIONS, "false")
    judgment = Tracer(project_name="off", tracer_provider=provider)

    @judgment.observe(scorer_config=_hosted())
    def run() -> str | None:
        return _marker(trace.get_current_span().get_span_context())

    assert run() is None
    (span,) = _named(exporter, "run")
    assert semconv.JUDGEVAL_TRAJECTORY_REQUESTS not in span.attributes


def test_monitoring_off_returns_the_function_untouched(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider
):
    monkeypatch.setenv(environment_variables.JUDGMENT_MONITORING, "false")
    judgment = Tracer(project_name="off", tracer_provider=provider)

    def run() -> None:
        return None

    assert judgment.observe(scorer_config=_hosted())(run) is run


def test_wrong_config_type_warns_and_traces_unscored(judgment: Tracer, exporter: InMemorySpanExporter):
    with pytest.warns(JudgevalUsageWarning, match="needs a TraceScorerConfig, got HostedLoopScorer"):
        @judgment.observe(scorer_config=HostedLoopScorer())  # type: ignore[arg-type]
        def run() -> None:
            return None
    run()
    (span,) = _named(exporter, "run")
    assert semconv.JUDGEVAL_TRAJECTORY_REQUESTS not in span.attributes


def test_encoded_request_follows_scorer_changes(judgment: Tracer, exporter: InMemorySpanExporter):
    scorer = HostedLoopScorer()

    @judgment.observe(scorer_config=TraceScorerConfig(scorer=scorer))
    def run() -> None:
        return None

    run()
    scorer.max_repeats = 5  # the cached scorer part must not go stale
    run()
    configs = [json.loads(s.attributes[semconv.JUDGEVAL_TRAJECTORY_REQUESTS])[0]["scorer"]["config"]
               for s in _named(exporter, "run")]
    assert configs == [{"max_repeats": 3}, {"max_repeats": 5}]


def test_session_scope_and_span_requests_ride_along(judgment: Tracer, exporter: InMemorySpanExporter):
    from judgeval.data import Example
    from judgeval.protocol.evaluation_request import decode_requests

    class Polite(ExampleScorer):
        server_hosted: bool = True

    @judgment.observe(scorer_config=_hosted(scope="session"))
    def run() -> None:
        # async_evaluate inside the call tags the real span through the marked current span
        judgment.async_evaluate(scorer=Polite(), example=Example(input="hi"))

    run()
    (span,) = _named(exporter, "run")
    (request,) = decode_trajectory_requests(span.attributes[semconv.JUDGEVAL_TRAJECTORY_REQUESTS])
    assert request.scope == "session"
    assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == "pending"
    span_requests = decode_requests(span.attributes[semconv.JUDGEVAL_EVAL_REQUESTS])
    assert [r.scorer.name for r in span_requests] == ["Polite"]


def test_a_request_over_the_attribute_limit_warns(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
):
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100")
    judgment = Tracer(project_name="limits", tracer_provider=provider)

    @judgment.observe(scorer_config=TraceScorerConfig(scorer=HostedLoopScorer(rubric="x" * 200)))
    def run() -> None:
        return None

    with pytest.warns(JudgevalUsageWarning, match="over the span attribute length limit of 100"):
        run()
    (span,) = _named(exporter, "run")
    assert semconv.JUDGEVAL_TRAJECTORY_REQUESTS in span.attributes  # still requested: the evaluator says why
