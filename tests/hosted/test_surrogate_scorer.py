"""Issue 18, defect 1, with a real uploaded (sandboxed) scorer: a scorer returning, or raising with, a
lone surrogate in its reason still gets its span delivered, and the span behind it is scored."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import grpc
import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.protocol.otlp_values import to_any_value
from judgeval.semconv import EvalStatus, ScoreField, score_attribute
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.admin import HostedScorers
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.sandbox import SandboxConfig, SandboxLimits
from tests.support.cli import run_cli

from .admin_server import API_KEY

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")
SCORERS = Path(__file__).parent / "scorers" / "surrogate_scorers.py"
REASON, ERROR = "Surrogate Reason Scorer", "Surrogate Error Scorer"


def tagged(n: int, scorer: str) -> Span:
    span = Span(trace_id=n.to_bytes(16, "big"), span_id=n.to_bytes(8, "big"), name=scorer,
                start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_001_000_000_000)
    attributes = {
        semconv.JUDGEVAL_EVAL_STATUS: EvalStatus.PENDING.value,
        semconv.JUDGEVAL_EVAL_REQUESTS: encode_requests([EvaluationRequest(ScorerRef(name=scorer), {})]),
    }
    for key, value in attributes.items():
        span.attributes.add(key=key, value=to_any_value(value))
    return span


async def test_an_uploaded_scorer_answering_with_a_lone_surrogate_gets_its_span_delivered(
    tmp_path: Path, envs_dir: Path
) -> None:
    with OtlpTraceReceiver() as downstream:
        config = load_config(listen="127.0.0.1:0", export_endpoint=downstream.endpoint,
                             data_dir=str(tmp_path / "data"), api_key=API_KEY, environ={})
        hosted = HostedScorers.create(config.data_dir, config.api_key,
                                      SandboxConfig(limits=SandboxLimits(wall_timeout_s=20)),
                                      envs_dir=envs_dir, pip_args=("--no-index",))
        app = EvaluatorApp(config, scorer_sources=[hosted.source], service_installers=[hosted.install])
        await app.start()
        try:
            requirements = tmp_path / "requirements.txt"
            requirements.write_text("")
            env = {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
            for scorer_class in ("SurrogateReasonScorer", "SurrogateErrorScorer"):
                uploaded = await run_cli("upload_scorer", str(SCORERS), str(requirements), "--class",
                                         scorer_class, env=env)
                assert uploaded.code == 0, uploaded.stderr
            request = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[ResourceSpans(
                scope_spans=[ScopeSpans(spans=[tagged(1, REASON), tagged(2, ERROR)])])])
            async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
                await trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)
            spans = await asyncio.to_thread(downstream.wait_for, lambda s: len(s) == 2, 60)
        finally:
            await app.stop(grace=2.0)
            await hosted.close()
    by_name = {span.name: span.attributes for span in spans}
    assert by_name[REASON][semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.SCORED, by_name[REASON]
    assert by_name[REASON][score_attribute(REASON, ScoreField.REASON)] == "half a pair: \ufffd"
    assert by_name[ERROR][semconv.JUDGEVAL_EVAL_STATUS] == EvalStatus.FAILED
    assert "half a pair: \ufffd" in by_name[ERROR][semconv.JUDGEVAL_EVAL_ERROR]
