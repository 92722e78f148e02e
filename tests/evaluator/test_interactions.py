"""Records built from an enriched span: the example each request carried, the result, where it came from."""

from __future__ import annotations

from collections.abc import Sequence

from judgeval import semconv
from judgeval.protocol.interaction_record import InteractionRecord
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from evaluator_service.interactions import InteractionFanout, interaction_records
from evaluator_service.scoring.contract import ScoreOutcome, ScoreResult
from tests.support.spans import make_request, make_span, tagged_attributes


def _resource(**extra: object) -> bytes:
    request = make_request([], service="support", resource_extra=dict(extra))
    return ResourceSpans(resource=request.resource_spans[0].resource).SerializeToString()


def test_each_result_gets_its_requests_example_and_the_spans_context() -> None:
    span = make_span("answer", {**tagged_attributes(("Polite", {"input": "hi", "actual_output": "go away"}),
                                                    ("Terse", {"input": "hi"})),
                                semconv.GEN_AI_AGENT_NAME: "triage", semconv.JUDGEVAL_BEHAVIOR_ID: "bhv-7",
                                semconv.JUDGEVAL_BEHAVIOR_SCORER: "Polite"})
    results = [ScoreResult("Polite", 0.5, ScoreOutcome(0.1, "rude")),
               ScoreResult("Terse", 0.5, error_kind="timeout", error_message="took 30 s")]
    polite, terse = interaction_records(span, results, _resource(**{"deployment.environment.name": "prod"}),
                                        now=10.0)
    assert polite == InteractionRecord(
        scorer="Polite", trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), at=10.0,
        example={"input": "hi", "actual_output": "go away"}, threshold=0.5, score=0.1, passed=False,
        reason="rude", service="support", agent="triage", environment="prod", behavior_id="bhv-7")
    assert (terse.score, terse.passed, terse.error_kind, terse.reason) == (None, None, "timeout", "took 30 s")
    assert terse.behavior_id is None  # the behavior belongs to the other scorer's failure
    assert terse.example == {"input": "hi"}


def test_every_sink_hears_and_a_broken_one_harms_nothing() -> None:
    heard: list[Sequence[InteractionRecord]] = []

    def broken(records: Sequence[InteractionRecord]) -> None:
        raise RuntimeError("bug")

    fanout = InteractionFanout()
    fanout.sinks += [broken, heard.append]
    span = make_span("answer", tagged_attributes(("Polite", {"input": "hi"})))
    fanout(span, [ScoreResult("Polite", 0.5, ScoreOutcome(0.9))], _resource())
    assert [r.passed for r in heard[0]] == [True]
