"""The whole path in real processes: the evaluator app with hosted scorers wired in, the docs' scorer
uploaded with the ``judgeval`` CLI, a tagged span exported over OTLP/gRPC, the enriched span received
downstream with the sandboxed score on it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import grpc
import pytest
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.protocol.otlp_values import to_any_value
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing import RecordedOpenAIServer, Recording
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.admin import HostedScorers
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.sandbox import SandboxConfig, SandboxLimits
from tests.support.cli import run_cli

from .admin_server import API_KEY, DOCS_REQUIREMENTS, DOCS_SCORER

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")
NAME = "Package Inquiry Scorer"


def tagged_span(example: dict[str, str]) -> trace_service_pb2.ExportTraceServiceRequest:
    span = Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="handle_request",
                start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_001_000_000_000)
    attributes = {
        semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
        semconv.JUDGEVAL_EVAL_REQUESTS: encode_requests([EvaluationRequest(ScorerRef(name=NAME), example)]),
    }
    for key, value in attributes.items():
        span.attributes.add(key=key, value=to_any_value(value))
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])])


async def test_uploaded_docs_scorer_scores_a_live_span(
    tmp_path: Path, envs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judge = RecordedOpenAIServer([Recording(match=["Does the response address package-related concerns"],
                                            answer="YES")])
    with judge, OtlpTraceReceiver() as downstream:
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-recorded")
        config = load_config(listen="127.0.0.1:0", export_endpoint=downstream.endpoint,
                             data_dir=str(tmp_path / "data"), api_key=API_KEY, environ={})
        hosted = HostedScorers.create(config.data_dir, config.api_key,
                                      SandboxConfig(limits=SandboxLimits(wall_timeout_s=20)),
                                      envs_dir=envs_dir, pip_args=("--no-index",))
        app = EvaluatorApp(config, scorer_sources=[hosted.source], service_installers=[hosted.install])
        await app.start()
        try:
            requirements = tmp_path / "requirements.txt"
            requirements.write_text(DOCS_REQUIREMENTS)
            env = {"JUDGMENT_API_URL": f"127.0.0.1:{app.port}", "JUDGMENT_API_KEY": API_KEY}
            uploaded = await run_cli("upload_scorer", str(DOCS_SCORER), str(requirements), env=env)
            assert uploaded.code == 0, uploaded.stderr
            async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
                example = {"request": "Where is my package?", "response": "It ships today."}
                stub = trace_service_pb2_grpc.TraceServiceStub(channel)
                await stub.Export(tagged_span(example), timeout=10)
            spans = await asyncio.to_thread(downstream.wait_for, lambda s: len(s) >= 1, 60)
        finally:
            await app.stop(grace=2.0)
            await hosted.close()
    attributes = spans[0].attributes
    assert attributes[score_attribute(NAME, ScoreField.VALUE)] == 1.0
    assert "appropriately addresses" in attributes[score_attribute(NAME, ScoreField.REASON)]
    assert attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED.value
