"""``examples/trace_scorer_agent.py`` (the docs' multi-agent system with a trace scorer), run for real in a
subprocess against a real OTLP receiver and the recorded OpenAI-compatible server."""

from __future__ import annotations

import pytest
from judgeval import semconv
from judgeval.protocol.otlp_values import attributes_dict
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing import OtlpTraceReceiver, ReceivedSpan

from tests.support.processes import EXAMPLES, run_python

SCORER = "Tool Loop Scorer"


def _one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    (span,) = [s for s in spans if s.name == name]
    return span


def _score(span: ReceivedSpan, field: ScoreField) -> object:
    return span.attributes[score_attribute(SCORER, field)]


@pytest.mark.parametrize(
    ("args", "value", "reason", "searches"),
    [
        ([], 1.0, "no tool was called more than 3 times in a row with the same arguments", 1),
        (["--loop"], 0.0, "tool 'search_web' was called 4 times in a row with the same arguments", 4),
    ],
)
def test_the_example_scores_its_whole_trajectory(
    agent_env: dict[str, str], receiver: OtlpTraceReceiver, args: list[str], value: float, reason: str,
    searches: int,
):
    done = run_python(["trace_scorer_agent.py", *args], env=agent_env, cwd=EXAMPLES)
    assert "Results from planning and executing" in done.stdout
    spans = receiver.wait_for(lambda s: any(x.name == f"evaluate {SCORER}" for x in s))
    plan = _one(spans, "plan")
    result = _one(spans, f"evaluate {SCORER}")
    assert result.parent_span_id == plan.span_id and result.trace_id == plan.trace_id
    assert _score(result, ScoreField.VALUE) == value
    assert _score(result, ScoreField.REASON) == reason
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SCOPE] == "trace"
    # plan, research, perform_task, the LLM call and every search
    assert result.attributes[semconv.JUDGEVAL_TRAJECTORY_SPAN_COUNT] == 4 + searches
    assert result.attributes[semconv.JUDGEVAL_EVAL_VERDICT] == ("pass" if value else "fail")
    assert len([s for s in spans if s.name == "search_web"]) == searches
    # The same result as an OTLP log record, exported by the logger provider the Tracer set up (the
    # process has exited, so what it exported at exit has been received).
    ((resource, record),) = receiver.log_records
    assert record.event_name == semconv.GEN_AI_EVALUATION_RESULT_EVENT
    assert (record.trace_id.hex(), record.span_id.hex()) == (plan.trace_id, plan.span_id)
    assert attributes_dict(record.attributes)[semconv.GEN_AI_EVALUATION_SCORE_VALUE] == value
    assert resource["service.name"] == "multi-agent-system"
    research = _one(spans, "research")
    assert research.attributes[semconv.GEN_AI_AGENT_NAME] == "ResearchAgent"
    assert research.attributes[semconv.JUDGEVAL_AGENT_PARENT_NAME] == "PlanningAgent"


def test_otel_logs_exporter_none_keeps_the_score_on_spans_only(
    agent_env: dict[str, str], receiver: OtlpTraceReceiver
):
    env = {**agent_env, "OTEL_LOGS_EXPORTER": "none"}
    run_python(["trace_scorer_agent.py", "--loop"], env=env, cwd=EXAMPLES)
    spans = receiver.wait_for(lambda s: any(x.name == f"evaluate {SCORER}" for x in s))
    assert _score(_one(spans, f"evaluate {SCORER}"), ScoreField.VALUE) == 0.0
    # The process has exited, so anything it would have exported has been received.
    assert receiver.log_records == []
