"""The feed header over OTLP/HTTP and the bearer token, and trajectory results in the score metrics."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import grpc
import pytest
from judgeval import semconv
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.config import EvaluatorConfig
from tests.support.evaluator import metric_points, running, wait_for
from tests.support.spans import make_request
from tests.support.trajectories import (
    LOOP_SCORER,
    ManualClock,
    ScorerShelf,
    ToolLoopScorer,
    export_feed,
    looping_run,
    requests_value,
)

TOKEN = "feed-token"


async def test_feed_exports_over_http_need_the_token_and_are_buffered_not_forwarded(
    make_config: Callable[..., EvaluatorConfig], receiver: OtlpTraceReceiver
) -> None:
    doc = {"ingress": {"http_listen": "127.0.0.1:0", "bearer_token": TOKEN}, "trajectories": {"grace_s": 5}}
    clock, reader = ManualClock(), InMemoryMetricReader()
    run = looping_run(4, requests=requests_value("trace"))
    body = make_request(run.spans).SerializeToString()
    async with running(
        make_config(doc),
        clock=clock,
        metric_readers=[reader],
        trajectory_sources=[ScorerShelf({LOOP_SCORER: ToolLoopScorer()})],
    ) as app:
        url = f"http://127.0.0.1:{app.http_port}/v1/traces"
        headers = {"Content-Type": "application/x-protobuf", semconv.TRAJECTORY_FEED_HEADER: "trajectory"}
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=headers) as refused:
                assert refused.status == 401
            async with session.post(
                url, data=body, headers={**headers, "Authorization": f"Bearer {TOKEN}"}
            ) as ok:
                assert ok.status == 200
        with pytest.raises(grpc.aio.AioRpcError) as no_token:  # gRPC: the same token, the same refusal
            await export_feed(app, run.spans)
        assert no_token.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert app.trajectories.counters.totals["spans.buffered"] == len(run.spans)
        clock.advance(5)
        await app.trajectories.sweeper.sweep()
        [result] = await wait_for(receiver, lambda s: len(s) >= 1)
    assert result.name == f"evaluate {LOOP_SCORER}"  # the copies themselves were never forwarded
    outcomes = {
        (p.attributes["scorer"], p.attributes["outcome"]): p.value
        for p in metric_points(reader)[semconv.METRIC_SCORE_OUTCOMES]
    }
    assert outcomes == {(LOOP_SCORER, "failed"): 1}
    buffered = metric_points(reader)[semconv.METRIC_TRAJECTORY_SPANS]
    assert {p.attributes[semconv.TRAJECTORY_METRIC_LABEL_OUTCOME]: p.value for p in buffered} == {
        "buffered": len(run.spans)
    }
