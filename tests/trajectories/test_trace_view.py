"""How the evaluator turns buffered OTLP span copies into the ``Trace`` a trajectory scorer reads."""

from __future__ import annotations

from judgeval import semconv
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from evaluator_service.trajectories.buffer import BufferedSpan
from evaluator_service.trajectories.trace_view import trace_of
from tests.support.spans import make_span


def test_genai_tool_spans_carry_their_arguments_and_result_into_tool_calls() -> None:
    root = make_span("invoke_agent support", {semconv.GEN_AI_OPERATION_NAME: "invoke_agent"})
    tool = make_span("execute_tool lookup", {
        semconv.GEN_AI_OPERATION_NAME: "execute_tool", semconv.GEN_AI_TOOL_NAME: "lookup",
        semconv.GEN_AI_TOOL_CALL_ARGUMENTS: '{"order": 42}', semconv.GEN_AI_TOOL_CALL_RESULT: '"shipped"',
    }, trace_id=root.trace_id)
    tool.parent_span_id = root.span_id
    tool.start_time_unix_nano = root.start_time_unix_nano + 1
    resource = ResourceSpans().SerializeToString()
    buffered = [BufferedSpan(resource, b"", s.SerializeToString()) for s in (root, tool)]

    trace, _ = trace_of(buffered, scope="trace", bounding_span_id=root.span_id, trace_ids=[root.trace_id])

    [call] = trace.tool_calls()
    assert (call.name, call.arguments, call.result) == ("lookup", {"order": 42}, "shipped")
