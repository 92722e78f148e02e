"""Issue 18, defect 2: whatever repeated keys a span arrives with, the evaluator's output never carries a
``pending`` status (which would route it back into evaluation); repeated keys are normalized on intake,
the last occurrence winning."""

from __future__ import annotations

import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.semconv import EvalStatus
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.evaluator import export, running, wait_drained, wait_for
from tests.support.spans import make_request, make_span

PENDING = EvalStatus.PENDING.value
REQUESTS = encode_requests([EvaluationRequest(ScorerRef(name="pii"), {"actual_output": "clean"})])


def _with_repeated(span: Span, *pairs: tuple[str, str]) -> Span:
    span.attributes.extend(KeyValue(key=key, value=AnyValue(string_value=value)) for key, value in pairs)
    return span


def _statuses(span: Span) -> list[str]:
    return [kv.value.string_value for kv in span.attributes if kv.key == semconv.JUDGEVAL_EVAL_STATUS]


@pytest.mark.parametrize(
    ("first", "last", "scored"),
    [(PENDING, PENDING, True), ("scored", PENDING, True), (PENDING, "scored", False),
     (PENDING, "other", False)],
)
async def test_the_output_carries_one_status_and_never_pending(make_config, receiver, first, last, scored):
    status = semconv.JUDGEVAL_EVAL_STATUS
    span = _with_repeated(make_span("repeated"), (status, first), (semconv.JUDGEVAL_EVAL_REQUESTS, REQUESTS),
                          (status, last), ("user.key", "a"), ("user.key", "b"))
    async with running(make_config()) as app:
        await export(app, make_request([span, make_span("plain")]))
        received = await wait_for(receiver, lambda s: len(s) == 2)
        await wait_drained(app)
    (out,) = [s.proto for s in received if s.name == "repeated"]
    assert out is not None
    assert _statuses(out) == [EvalStatus.SCORED.value if scored else last]
    assert [kv.value.string_value for kv in out.attributes if kv.key == "user.key"] == ["b"]
    events = [e for e in out.events if e.name == semconv.GEN_AI_EVALUATION_RESULT_EVENT]
    assert len(events) == (1 if scored else 0)
