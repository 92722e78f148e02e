"""The trajectory feed through the real collector (otelcol-jaeger.yaml) to a real evaluator and Jaeger.

SDK-free: OTLP spans carrying the W3C tracestate ``judgeval=t`` (as the SDK's context gives every span below
a bounding span, in any process) are sent to the collector. Each original reaches Jaeger exactly once by its
normal route, the feed copies reach the evaluator's buffer (never Jaeger a second time), and the result span
``evaluate tool_loop`` lands in Jaeger under the bounding span.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import grpc
import yaml
from judgeval import semconv
from judgeval.semconv import ScoreField, score_attribute
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from evaluator_service.config import load_config
from tests.support.evaluator import FAST_RETRIES, running
from tests.support.spans import make_request
from tests.support.trajectories import (
    LOOP_SCORER,
    ScorerShelf,
    ToolLoopScorer,
    clean_run,
    looping_run,
    requests_value,
)
from tools.localstack.binaries import OtelBinaries
from tools.localstack.jaeger_query import JaegerSpan
from tools.localstack.procs import free_endpoint
from tools.localstack.stack import JaegerInstance, start_collector


def _send(endpoint: str, request: object) -> None:
    with grpc.insecure_channel(endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)


async def test_feed_copies_are_scored_and_originals_reach_jaeger_once(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, tmp_path: Path
) -> None:
    evaluator_endpoint = free_endpoint()
    config_file = tmp_path / "evaluator.yaml"
    config_file.write_text(yaml.safe_dump({**FAST_RETRIES, "trajectories": {"grace_s": 0.5, "tick_s": 0.05}}))
    loop = looping_run(4, requests=requests_value("trace"))
    clean = clean_run(requests=requests_value("trace"))
    untagged = make_request([])  # a plain span of another trace, no tracestate: no copy, no buffering
    with start_collector(
        otel_binaries.otelcol,
        tmp_path / "otelcol",
        evaluator_endpoint=evaluator_endpoint,
        backend_endpoint=jaeger.otlp_grpc_endpoint,
    ) as collector:
        config = load_config(
            listen=evaluator_endpoint,
            export_endpoint=collector.grpc_endpoint,
            data_dir=str(tmp_path / "data"),
            config_file=str(config_file),
            environ={},
        )
        async with running(config, trajectory_sources=[ScorerShelf({LOOP_SCORER: ToolLoopScorer()})]) as app:
            plain = looping_run(1).children[0]
            plain.ClearField("trace_state")
            untagged.resource_spans[0].scope_spans[0].spans.append(plain)
            for request in (make_request(loop.spans), make_request(clean.spans), untagged):
                await asyncio.to_thread(_send, collector.grpc_endpoint, request)

            def scored(run_spans: int) -> Callable[[list[JaegerSpan]], bool]:
                return lambda spans: (
                    any(s.name.startswith("evaluate ") for s in spans) and len(spans) > run_spans
                )

            loop_trace = await asyncio.to_thread(
                jaeger.query.wait_for_trace, loop.trace_id.hex(), scored(len(loop.spans)), 60
            )
            clean_trace = await asyncio.to_thread(
                jaeger.query.wait_for_trace, clean.trace_id.hex(), scored(len(clean.spans)), 60
            )
            await asyncio.to_thread(
                jaeger.query.wait_for_trace, plain.trace_id.hex(), lambda s: len(s) == 1, 60
            )
            totals = app.trajectories.counters.totals if app.trajectories else Counter()
    _assert_scored(loop_trace, loop.bounding.span_id.hex(), 0.0)
    _assert_scored(clean_trace, clean.bounding.span_id.hex(), 1.0)
    # every original exactly once, plus the one result: the copies were buffered, never forwarded
    for trace, run in ((loop_trace, loop), (clean_trace, clean)):
        counts = Counter(s.span_id for s in trace)
        assert set(counts.values()) == {1}
        assert {s.span_id.hex() for s in run.spans} <= set(counts)
    assert totals["spans.buffered"] == len(loop.spans) + len(clean.spans)


def _assert_scored(trace: list[JaegerSpan], bounding: str, value: float) -> None:
    [result] = [s for s in trace if s.name == f"evaluate {LOOP_SCORER}"]
    assert result.parent_span_id == bounding
    assert result.attributes[score_attribute(LOOP_SCORER, ScoreField.VALUE)] == value
    assert result.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED
    assert [name for name, _ in result.events] == [semconv.GEN_AI_EVALUATION_RESULT_EVENT]
