"""Plug-in points the lead wires the admin API and uploaded scorers into, and the evaluator's metrics."""

from __future__ import annotations

import dataclasses
from concurrent import futures
from typing import Any

import grpc
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.semconv import EvalStatus, ScoreField, score_attribute
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.scoring.contract import ScoreOutcome, Scorer
from tests.support.evaluator import export, metric_points, running, wait_drained, wait_for
from tests.support.spans import by_name, make_request, make_span, tagged_attributes


class ConstantScorer:
    """A scorer plug-in that always answers the same score (or raises, to test crash handling)."""

    def __init__(self, name: str, value: float | None) -> None:
        self.name = name
        self._value = value

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        if self._value is None:
            raise ValueError("bug in user code")
        return ScoreOutcome(value=self._value, reason=f"saw {sorted(example)}")


class UploadedScorers:
    """A ScorerSource plug-in, like the hosted-scorer registry."""

    def __init__(self) -> None:
        self.scorers = {
            "Package Inquiry Scorer": ConstantScorer("Package Inquiry Scorer", 0.9),
            "Broken Scorer": ConstantScorer("Broken Scorer", None),
        }

    def resolve(self, ref: ScorerRef) -> Scorer | None:
        return self.scorers.get(ref.name)


def install_echo(server: grpc.aio.Server) -> None:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    handler = grpc.unary_unary_rpc_method_handler(echo)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Echo", {"Echo": handler})])


async def test_extra_scorer_sources_and_service_installers(make_config, receiver):
    attrs = tagged_attributes(
        ("Package Inquiry Scorer", {"request": "q", "response": "r"}), ("Broken Scorer", {})
    )
    async with running(
        make_config(), scorer_sources=[UploadedScorers()], service_installers=[install_echo]
    ) as app:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            echoed = await channel.unary_unary("/test.Echo/Echo")(b"ping")
        await export(app, make_request([make_span("uploaded", attrs)]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert echoed == b"ping"
    span = by_name(received, "uploaded").attributes
    assert span[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.PARTIAL
    assert span[score_attribute("Package Inquiry Scorer", ScoreField.VALUE)] == 0.9
    assert span[score_attribute("Package Inquiry Scorer", ScoreField.REASON)] == "saw ['request', 'response']"
    assert "Broken Scorer: scorer_error: ValueError: bug in user code" in span[semconv.JUDGEVAL_EVAL_ERROR]


async def test_metrics_describe_the_work_on_a_private_provider(make_config, receiver):
    reader = InMemoryMetricReader()
    spans = [
        make_span("scored", tagged_attributes(("pii", {"actual_output": "clean"}))),
        make_span("unknown", tagged_attributes(("nope", {}))),
        make_span("leaky", tagged_attributes(("pii", {"actual_output": "mail a@b.co"}))),
        make_span("plain"),
    ]
    async with running(make_config(), metric_readers=[reader]) as app:
        await export(app, make_request(spans))
        await wait_for(receiver, lambda s: len(s) == 4)
        await wait_drained(app)
        points = metric_points(reader)
    assert sum(p.value for p in points[semconv.METRIC_SPANS_ACCEPTED]) == 4
    assert sum(p.value for p in points[semconv.METRIC_SPANS_EXPORTED]) == 4
    statuses = {p.attributes["status"]: p.value for p in points[semconv.METRIC_SPANS_SCORED]}
    assert statuses == {"scored": 2, "failed": 1}
    scorer, outcome = semconv.SCORE_METRIC_LABEL_SCORER, semconv.SCORE_METRIC_LABEL_OUTCOME
    outcomes = {
        (p.attributes[scorer], p.attributes[outcome]): p.value for p in points[semconv.METRIC_SCORE_OUTCOMES]
    }
    assert outcomes == {("pii", "passed"): 1, ("pii", "failed"): 1, ("nope", "error"): 1}  # errors apart
    errors = {
        (p.attributes["scorer"], p.attributes["kind"]) for p in points[semconv.METRIC_SCORING_ERRORS]
    }
    assert errors == {("nope", "unknown_scorer")}
    values = {p.attributes["scorer"]: p.sum for p in points[semconv.METRIC_SCORE_VALUE]}
    assert values == {"pii": 1.0}  # the sum of 1.0 and 0.0
    assert [p.value for p in points[semconv.METRIC_QUEUE_DEPTH]] == [0]
    assert [p.value for p in points[semconv.METRIC_SCORERS_PAUSED]] == [0]


class MetricsSink(metrics_service_pb2_grpc.MetricsServiceServicer):
    """A real OTLP/gRPC metrics receiver that remembers metric names."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def Export(self, request: Any, context: Any) -> Any:
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                self.names.update(m.name for m in sm.metrics)
        return metrics_service_pb2.ExportMetricsServiceResponse()


async def test_metrics_are_exported_over_otlp_when_an_endpoint_is_configured(make_config, receiver):
    sink = MetricsSink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(sink, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        config = dataclasses.replace(make_config(), metrics_endpoint=f"127.0.0.1:{port}")
        async with running(config) as app:
            await export(app, make_request([make_span("plain")]))
            await wait_for(receiver, lambda s: len(s) == 1)
            await wait_drained(app)
        # stopping the app flushes its private meter provider
    finally:
        server.stop(None)
    assert {semconv.METRIC_SPANS_ACCEPTED, semconv.METRIC_QUEUE_DEPTH} <= sink.names
    # the evaluator's own telemetry never enters its queue
    assert [s.name for s in receiver.spans] == ["plain"]


async def test_resolution_order_yaml_then_builtins_then_plugins(make_config, receiver):
    yaml_regex = {"name": "regex", "type": "regex", "options": {"pattern": "^yaml$"}}
    plugin = UploadedScorers()
    plugin.scorers["pii"] = ConstantScorer("pii", 0.123)  # cannot shadow the built-in
    attrs = tagged_attributes(
        ("regex", {"actual_output": "yaml"}),
        ("pii", {"actual_output": "clean"}),
        config={"pattern": "^request$"},
    )
    async with running(make_config({"scorers": [yaml_regex]}), scorer_sources=[plugin]) as app:
        await export(app, make_request([make_span("order", attrs)]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    span = received[0].attributes
    assert span[score_attribute("regex", ScoreField.VALUE)] == 1.0  # YAML options win over the request's
    assert span[score_attribute("pii", ScoreField.VALUE)] == 1.0


class LabelledScorer(ConstantScorer):
    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        return ScoreOutcome(value=0.0, label="refusal", reason="declined to answer")


async def test_a_scorers_own_label_is_kept_on_the_event(make_config, receiver):
    plugin = UploadedScorers()
    plugin.scorers["Refusal"] = LabelledScorer("Refusal", 0.0)
    async with running(make_config(), scorer_sources=[plugin]) as app:
        await export(app, make_request([make_span("labelled", tagged_attributes(("Refusal", {})))]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    (event,) = [attrs for name, attrs in received[0].events if name == semconv.GEN_AI_EVALUATION_RESULT_EVENT]
    assert event[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "refusal"
