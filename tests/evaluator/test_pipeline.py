"""End to end through the real gRPC servers: routing, enrichment, partial_success, malformed payloads."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from judgeval import semconv
from judgeval.protocol.otlp_values import set_attributes
from judgeval.semconv import EvalStatus, ScoreField, score_attribute

from evaluator_service.app import EvaluatorApp
from tests.support.evaluator import export, running, wait_for
from tests.support.spans import by_name, make_request, make_span, names, tagged_attributes

REGEX_CONFIG = {"pattern": r"\bsorry\b"}


async def test_untagged_spans_are_forwarded_marked_not_selected_in_resource_and_scope(make_config, receiver):
    spans = [make_span("plain-1", {"x": 1}), make_span("plain-2", {"y": "z"})]
    sent = make_request(spans, service="shop-agent", scope="my.scope")
    async with running(make_config()) as app:
        response = await export(app, sent)
        received = await wait_for(receiver, lambda s: len(s) == 2)
    assert not response.HasField("partial_success")
    assert names(received) == ["plain-1", "plain-2"]
    for span in received:
        assert span.resource[semconv.SERVICE_NAME] == "shop-agent"
        assert span.scope == "my.scope"
    # The only change: the mark that keeps a collector from routing them back to the evaluator.
    for span in spans:
        set_attributes(span, {semconv.JUDGEVAL_EVAL_STATUS: EvalStatus.NOT_SELECTED.value})
    assert [s.proto for s in received] == spans
    forwarded = receiver.requests[0].resource_spans[0]
    assert forwarded.schema_url == "res-schema"
    assert forwarded.scope_spans[0].schema_url == sent.resource_spans[0].scope_spans[0].schema_url
    assert forwarded.scope_spans[0].scope.version == "1.0"


async def test_tagged_span_is_scored_enriched_and_not_pending_anymore(make_config, receiver):
    tagged = make_span(
        "tagged", tagged_attributes(("regex", {"actual_output": "I'm sorry"}), config=REGEX_CONFIG)
    )
    async with running(make_config()) as app:
        await export(app, make_request([tagged, make_span("plain")]))
        received = await wait_for(receiver, lambda s: len(s) == 2)
    span = by_name(received, "tagged")
    assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED
    assert span.attributes[semconv.JUDGEVAL_EVAL_SUCCESS] is True
    assert span.attributes[score_attribute("regex", ScoreField.VALUE)] == 1.0
    assert semconv.JUDGEVAL_EVAL_ERROR not in span.attributes
    events = [attrs for name, attrs in span.events if name == semconv.GEN_AI_EVALUATION_RESULT_EVENT]
    assert events[0][semconv.GEN_AI_EVALUATION_NAME] == "regex"
    assert events[0][semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "pass"
    assert by_name(received, "plain").attributes == {semconv.JUDGEVAL_EVAL_STATUS: EvalStatus.NOT_SELECTED}


async def test_failing_and_unknown_scorers_give_partial_status_with_reasons(make_config, receiver):
    attrs = tagged_attributes(
        ("regex", {"actual_output": "fine"}), ("no_such_scorer", {}), config=REGEX_CONFIG
    )
    async with running(make_config()) as app:
        await export(app, make_request([make_span("mixed", attrs)]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    span = received[0]
    assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.PARTIAL
    assert span.attributes[semconv.JUDGEVAL_EVAL_SUCCESS] is False
    assert span.attributes[score_attribute("regex", ScoreField.VALUE)] == 0.0
    assert "no_such_scorer: unknown_scorer" in span.attributes[semconv.JUDGEVAL_EVAL_ERROR]
    assert "unknown_scorer" in span.attributes[score_attribute("no_such_scorer", ScoreField.ERROR)]


async def test_malformed_payloads_are_exported_failed_with_reason_and_service_stays_up(make_config, receiver):
    bad_json = {semconv.JUDGEVAL_EVAL_STATUS: "pending", semconv.JUDGEVAL_EVAL_REQUESTS: "[{not json"}
    wrong_type = {
        semconv.JUDGEVAL_EVAL_STATUS: "pending",
        semconv.JUDGEVAL_EVAL_REQUESTS: '[{"scorer": {"name": "regex", "threshold": "high"}}]',
    }
    not_a_string = {semconv.JUDGEVAL_EVAL_STATUS: "pending", semconv.JUDGEVAL_EVAL_REQUESTS: 42}
    missing = {semconv.JUDGEVAL_EVAL_STATUS: "pending"}
    spans = [
        make_span("bad-json", bad_json),
        make_span("wrong-type", wrong_type),
        make_span("not-a-string", not_a_string),
        make_span("missing", missing),
    ]
    async with running(make_config()) as app:
        response = await export(app, make_request(spans))
        received = await wait_for(receiver, lambda s: len(s) == 4)
        await export(app, make_request([make_span("after")]))
        await wait_for(receiver, lambda s: len(s) == 5)
    assert not response.HasField("partial_success")
    errors = {s.name: s.attributes[semconv.JUDGEVAL_EVAL_ERROR] for s in received}
    assert all(s.attributes[semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED for s in received)
    assert "is not valid JSON" in errors["bad-json"]
    assert "[0].scorer.threshold must be a finite number" in errors["wrong-type"]
    assert "must be a JSON string, got int" in errors["not-a-string"]
    assert "has no judgeval.eval.requests attribute" in errors["missing"]


async def test_spans_without_valid_ids_are_refused_through_partial_success(make_config, receiver):
    no_trace = make_span("no-trace")
    no_trace.trace_id = b""
    zero_span = make_span("zero-span")
    zero_span.span_id = bytes(8)
    async with running(make_config()) as app:
        response = await export(app, make_request([no_trace, zero_span, make_span("good")]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert names(received) == ["good"]
    assert response.partial_success.rejected_spans == 2
    assert "trace_id" in response.partial_success.error_message
    assert "span_id" in response.partial_success.error_message


async def test_already_scored_spans_are_not_scored_again(make_config, receiver):
    attrs = tagged_attributes(("regex", {"actual_output": "x"}), config=REGEX_CONFIG)
    attrs[semconv.JUDGEVAL_EVAL_STATUS] = EvalStatus.SCORED.value
    async with running(make_config()) as app:
        await export(app, make_request([make_span("re-ingested", attrs)]))
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert received[0].attributes == attrs
    assert received[0].events == []


async def test_queue_over_its_limit_answers_unavailable(make_config, receiver):
    receiver.unavailable = True  # nothing drains, so the queue fills up
    config = make_config({"queue": {"max_spans": 3}})
    async with running(config) as app:
        await export(app, make_request([make_span("a"), make_span("b")]))
        try:
            await export(app, make_request([make_span("c"), make_span("d")]))
        except grpc.aio.AioRpcError as exc:
            code, details = exc.code(), exc.details()
        else:
            raise AssertionError("export over the queue limit was accepted")
        receiver.unavailable = False
        await wait_for(receiver, lambda s: len(s) == 2)
        await export(app, make_request([make_span("c"), make_span("d")]))
        received = await wait_for(receiver, lambda s: len(s) == 4)
    assert code == grpc.StatusCode.UNAVAILABLE
    assert "queue is full" in (details or "")
    assert names(received) == ["a", "b", "c", "d"]


async def test_health_is_serving_while_running(make_config):
    async with running(make_config()) as app, grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        overall = await stub.Check(health_pb2.HealthCheckRequest(service=""))
        traces = await stub.Check(
            health_pb2.HealthCheckRequest(service="opentelemetry.proto.collector.trace.v1.TraceService")
        )
    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    assert traces.status == health_pb2.HealthCheckResponse.SERVING


async def test_queue_byte_limit_also_answers_unavailable(make_config, receiver):
    receiver.unavailable = True
    async with running(make_config({"queue": {"max_bytes": 3000}})) as app:
        await export(app, make_request([make_span("first", {"payload": "x" * 2000})]))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await export(app, make_request([make_span("second", {"payload": "x" * 1500})]))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "queue is full" in (info.value.details() or "")


async def test_health_turns_not_serving_on_shutdown(make_config):
    app = EvaluatorApp(make_config())
    await app.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        first = await watch.read()
        stopping = asyncio.create_task(app.stop(grace=1.0))
        second = await watch.read()
        await stopping
    assert first.status == health_pb2.HealthCheckResponse.SERVING
    assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_rate_limited_scorer_still_scores_every_span(make_config, receiver):
    scorers = [{"name": "budgeted", "type": "regex", "rate_limit": 200, "options": {"pattern": "ok"}}]
    spans = [make_span(f"s{i}", tagged_attributes(("budgeted", {"actual_output": "ok"}))) for i in range(20)]
    async with running(make_config({"scorers": scorers, "scoring": {"concurrency": 4}})) as app:
        await export(app, make_request(spans))
        received = await wait_for(receiver, lambda s: len(s) == 20)
    assert {s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in received} == {EvalStatus.SCORED}


async def test_export_larger_than_the_whole_queue_is_invalid_argument(make_config, receiver):
    async with running(make_config({"queue": {"max_spans": 2}})) as app:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await export(app, make_request([make_span("a"), make_span("b"), make_span("c")]))
        await export(app, make_request([make_span("fits")]))
        await wait_for(receiver, lambda s: len(s) == 1)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "one export of 3 spans" in (info.value.details() or "")
    assert "queue.max_spans" in (info.value.details() or "")
