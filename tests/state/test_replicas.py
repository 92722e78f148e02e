"""Two evaluator replicas in-process (port 0, separate data directories, one real PostgreSQL database), each
with hosted scorers and real sandbox workers: a scorer uploaded through replica A's admin API scores spans
sent to replica B, and a scorer paused on A after its judge refused our key is paused on B too."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from judgeval import semconv
from judgeval.admin.v1 import scorer_admin_pb2 as pb
from judgeval.admin.v1 import scorer_admin_pb2_grpc as pb_grpc
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.protocol.otlp_values import to_any_value
from judgeval.semconv import ScoreField, score_attribute
from judgeval.testing import RecordedOpenAIServer, Recording
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.admin import HostedScorers
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from evaluator_service.sandbox import SandboxConfig, SandboxLimits
from evaluator_service.state import open_shared_state
from tests.support.polling import eventually_async
from tests.support.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root evaluator")

DOCS_SCORER = Path(__file__).parents[2] / "examples" / "customer_service" / "customer_service_scorer.py"
NAME = "Package Inquiry Scorer"
API_KEY = "replica-admin-key"
PASSWORD = "replica-db-secret"
LOCKED_OUT = "locked-out-marker"


@dataclass
class Replica:
    app: EvaluatorApp
    target: str

    async def send(self, span_name: str, response: str) -> None:
        example = {"request": "Where is my package?", "response": response}
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = trace_service_pb2_grpc.TraceServiceStub(channel)
            await stub.Export(tagged(span_name, example), timeout=10)

    async def upload(self, source: str) -> pb.ScorerVersion:
        async with grpc.aio.insecure_channel(self.target) as channel:
            request = pb.UploadScorerRequest(source=source, source_filename=DOCS_SCORER.name,
                                             requirements="pydantic\nopenai\n")
            return await pb_grpc.ScorerAdminStub(channel).UploadScorer(
                request, metadata=[("authorization", f"Bearer {API_KEY}")], timeout=120)


def tagged(span_name: str, example: dict[str, str]) -> trace_service_pb2.ExportTraceServiceRequest:
    span = Span(trace_id=os.urandom(16), span_id=os.urandom(8), name=span_name,
                start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_001_000_000_000)
    attributes = {
        semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
        semconv.JUDGEVAL_EVAL_REQUESTS: encode_requests([EvaluationRequest(ScorerRef(name=NAME), example)]),
    }
    for key, value in attributes.items():
        span.attributes.add(key=key, value=to_any_value(value))
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])])


async def start_replica(stack: AsyncExitStack, data_dir: Path, state_db: str, downstream: str,
                        envs_dir: Path) -> Replica:
    config = load_config(listen="127.0.0.1:0", export_endpoint=downstream, data_dir=str(data_dir),
                         api_key=API_KEY, state_db=state_db, environ={})
    state = open_shared_state(config.state_db_url)
    stack.push_async_callback(state.close)
    hosted = HostedScorers.create(config.data_dir, config.api_key,
                                  SandboxConfig(limits=SandboxLimits(wall_timeout_s=20)),
                                  envs_dir=envs_dir, pip_args=("--no-index",), state=state)
    stack.push_async_callback(hosted.close)
    app = EvaluatorApp(config, scorer_sources=[hosted.source], service_installers=[hosted.install],
                       shared_state=state)
    stack.push_async_callback(app.stop, 2.0)
    await app.start()
    return Replica(app, f"127.0.0.1:{app.port}")


async def received(downstream: OtlpTraceReceiver, span_name: str) -> ReceivedSpan:
    spans = await asyncio.to_thread(
        downstream.wait_for, lambda spans: any(s.name == span_name for s in spans), 60)
    return next(s for s in spans if s.name == span_name)


@pytest.fixture
async def replicas(tmp_path: Path, postgres: PostgresCluster, envs_dir: Path, monkeypatch: pytest.MonkeyPatch
                   ) -> AsyncIterator[tuple[Replica, Replica, OtlpTraceReceiver]]:
    judge = RecordedOpenAIServer([
        Recording(match=[LOCKED_OUT], status=401),
        Recording(match=["Does the response address package-related concerns"], answer="YES"),
    ])
    state_db = postgres.url(postgres.new_database(), password=PASSWORD)
    with judge, OtlpTraceReceiver() as downstream:
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-recorded")
        async with AsyncExitStack() as stack:
            a = await start_replica(stack, tmp_path / "a", state_db, downstream.endpoint, envs_dir)
            b = await start_replica(stack, tmp_path / "b", state_db, downstream.endpoint, envs_dir)
            yield a, b, downstream


async def test_scorer_uploaded_through_one_replica_scores_spans_on_another(
    replicas: tuple[Replica, Replica, OtlpTraceReceiver]
) -> None:
    a, b, downstream = replicas
    version = await a.upload(DOCS_SCORER.read_text())
    assert (version.name, version.version) == (NAME, 1)
    # Sent at once: B may not have polled yet, and must re-check the database rather than say "unknown".
    await b.send("on-replica-b", "It ships today.")
    span = await received(downstream, "on-replica-b")
    assert span.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED.value
    assert span.attributes[score_attribute(NAME, ScoreField.VALUE)] == 1.0
    async with grpc.aio.insecure_channel(b.target) as channel:
        listed = await pb_grpc.ScorerAdminStub(channel).ListScorers(
            pb.ListScorersRequest(), metadata=[("authorization", f"Bearer {API_KEY}")], timeout=10)
    assert [(s.name, [v.version for v in s.versions]) for s in listed.scorers] == [(NAME, [1])]


async def test_scorer_paused_on_one_replica_is_paused_on_the_other_until_resumed(
    replicas: tuple[Replica, Replica, OtlpTraceReceiver]
) -> None:
    a, b, downstream = replicas
    await a.upload(DOCS_SCORER.read_text())
    await a.send("refused-on-a", LOCKED_OUT)  # the judge answers 401: A pauses the scorer
    refused = await received(downstream, "refused-on-a")
    assert semconv.EvalStatus.FAILED.value == refused.attributes[semconv.JUDGEVAL_EVAL_STATUS]
    await eventually_async(lambda: b.app.pauses.reason(NAME) is not None, "B sees the pause", timeout=30)
    await b.send("paused-on-b", "It ships today.")
    paused = await received(downstream, "paused-on-b")
    assert f"{NAME}: paused: scorer is paused" in paused.attributes[semconv.JUDGEVAL_EVAL_ERROR]
    assert await b.app.pauses.resume(NAME) is True
    await eventually_async(lambda: a.app.pauses.reason(NAME) is None, "A sees the resume", timeout=30)
    await a.send("resumed-on-a", "It ships today.")
    resumed = await received(downstream, "resumed-on-a")
    assert resumed.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED.value
