"""Score metrics: value and outcome per scorer, service and agent, a scoring error counted apart from a
failure, and exemplars carrying the scored span's trace and span id."""

from __future__ import annotations

from judgeval import semconv
from judgeval.semconv import ScoreOutcomeLabel
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.score_metrics import ScoreMetricsObserver, exemplar_context
from tests.support.evaluator import export, metric_points, running, wait_drained, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

SCORER, AGENT = semconv.SCORE_METRIC_LABEL_SCORER, semconv.SCORE_METRIC_LABEL_AGENT
SERVICE, OUTCOME = semconv.SCORE_METRIC_LABEL_SERVICE, semconv.SCORE_METRIC_LABEL_OUTCOME


async def test_outcomes_and_values_by_scorer_service_and_agent_with_exemplars(make_config, receiver):
    reader = InMemoryMetricReader()
    clean = make_span("clean", {**tagged_attributes(("pii", {"actual_output": "ships today"})),
                                semconv.GEN_AI_AGENT_NAME: "support"})
    leaky = make_span("leaky", tagged_attributes(("pii", {"actual_output": "mail jo@example.com"})))
    unknown = make_span("unknown", tagged_attributes(("nope", {})))
    async with running(make_config(), metric_readers=[reader]) as app:
        await export(app, make_request([clean, leaky, unknown], service="shop"))
        await wait_for(receiver, lambda s: len(s) == 3)
        await wait_drained(app)
        points = metric_points(reader)

    outcomes = {
        (p.attributes[SCORER], p.attributes[SERVICE], p.attributes[AGENT], p.attributes[OUTCOME]): p
        for p in points[semconv.METRIC_SCORE_OUTCOMES]
    }
    assert {key: p.value for key, p in outcomes.items()} == {
        ("pii", "shop", "support", ScoreOutcomeLabel.PASSED): 1,
        ("pii", "shop", "", ScoreOutcomeLabel.FAILED): 1,
        ("nope", "shop", "", ScoreOutcomeLabel.ERROR): 1,  # could not judge: not a failure
    }
    value_points = points[semconv.METRIC_SCORE_VALUE]
    values = {(p.attributes[SCORER], p.attributes[AGENT]): (p.count, p.sum) for p in value_points}
    assert values == {("pii", "support"): (1, 1.0), ("pii", ""): (1, 0.0)}  # no value for an error
    # Explicit buckets (the Prometheus rules on single scores read them): 0 falls in le="0", 1 in le="1".
    buckets = {p.attributes[AGENT]: (tuple(p.explicit_bounds), list(p.bucket_counts)) for p in value_points}
    tenths = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert buckets == {"support": (tenths, [0] * 10 + [1, 0]), "": (tenths, [1] + [0] * 11)}
    assert tenths == semconv.SCORE_VALUE_BUCKET_BOUNDARIES
    by_span = {
        ScoreOutcomeLabel.PASSED: clean, ScoreOutcomeLabel.FAILED: leaky, ScoreOutcomeLabel.ERROR: unknown,
    }
    for (_, _, _, outcome), point in outcomes.items():
        span = by_span[outcome]
        assert [(e.trace_id, e.span_id) for e in point.exemplars] == [
            (int.from_bytes(span.trace_id, "big"), int.from_bytes(span.span_id, "big"))
        ]
    (passed_value,) = [p for p in points[semconv.METRIC_SCORE_VALUE] if p.attributes[AGENT] == "support"]
    assert [e.trace_id for e in passed_value.exemplars] == [int.from_bytes(clean.trace_id, "big")]


def test_nothing_is_recorded_without_a_reader() -> None:
    metrics = EvaluatorMetrics.create(None)
    assert not metrics.recording
    ScoreMetricsObserver(metrics)(make_span("s"), [], b"")  # and no error either


def test_no_exemplar_context_for_invalid_ids() -> None:
    assert exemplar_context(Span(trace_id=bytes(16), span_id=bytes(8))) is None
    assert exemplar_context(make_span("s")) is not None
