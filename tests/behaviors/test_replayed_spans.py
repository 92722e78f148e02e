"""A failing span scored again is one behavior member, from the grouper's metrics to a real evaluator process
SIGKILLed between placing the span and storing it for export.

The durable queue scores a span again after a crash that came between the behavior placement (a state
database write) and the enriched span's commit to the queue; a collector re-sends an export whose answer it
lost. Before the placement key (state/behavior_placements.py) every copy was counted: the member count,
trend buckets and evidence grew by one per copy, and the copy's span said ``judgeval.behavior.new = false``
although no export of the span ever said it created the behavior.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.testing import RecordedOpenAIServer, Recording
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.behaviors.grouper import BehaviorGrouper
from evaluator_service.behaviors.settings import BehaviorsConfig, ModelEndpoint
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.queue import DB_FILE_NAME
from evaluator_service.scoring.contract import ScoreOutcome, ScoreResult
from evaluator_service.state import SqliteSharedState
from tests.behaviors.lifecycle_support import T0, Clock
from tests.support.evaluator import metric_points
from tests.support.polling import eventually
from tests.support.spans import make_request, make_span

REASON = "LLM evaluation: Response doesn't adequately address package inquiry"


def counted(reader: InMemoryMetricReader) -> dict[str, float]:
    points = metric_points(reader)
    return {name: sum(p.value for p in points.get(name, []))
            for name in (semconv.METRIC_BEHAVIORS_ASSIGNED, semconv.METRIC_BEHAVIORS_EVENTS)}


async def test_the_grouper_counts_a_replayed_span_once_until_its_key_is_forgotten(tmp_path: Path) -> None:
    state, clock, reader = SqliteSharedState(tmp_path / "state.sqlite3"), Clock(T0), InMemoryMetricReader()
    await state.open()
    config = BehaviorsConfig(embedding=ModelEndpoint(local="hashing"), replay_memory_s=3600)
    grouper = BehaviorGrouper(config, state, EvaluatorMetrics(MeterProvider([reader])), clock=clock)
    span = Span(trace_id=bytes(range(16)), span_id=bytes(range(8)), name="agent")
    request = EvaluationRequest(ScorerRef("Package Inquiry Scorer"), {"input": "where is my parcel?"})
    failing = ScoreResult("Package Inquiry Scorer", 0.5, ScoreOutcome(0.0, reason=REASON))
    try:
        first = await grouper.assign(span, [request], [failing])
        clock.now += 120
        again = await grouper.assign(span, [request], [failing])
        assert again == first and first[semconv.JUDGEVAL_BEHAVIOR_NEW] is True
        assert counted(reader) == {semconv.METRIC_BEHAVIORS_ASSIGNED: 1, semconv.METRIC_BEHAVIORS_EVENTS: 1}
        (behavior,) = await state.behaviors()
        assert (behavior.member_count, len(behavior.examples)) == (1, 1)
        clock.now += 3600  # the lifecycle pass forgets keys older than replay_memory_s
        await grouper.run_lifecycle()
        late_copy = await grouper.assign(span, [request], [failing])
        assert late_copy[semconv.JUDGEVAL_BEHAVIOR_NEW] is False
        (behavior,) = await state.behaviors()
        assert behavior.member_count == 2
    finally:
        await grouper.stop()
        await state.close()


def failing_span() -> Span:
    """Fails the keyword scorer (no "refund") and waits for an LLM judge, so the test can hold the queue."""
    requests = [
        EvaluationRequest(ScorerRef("keyword", threshold=0.5, config={"keywords": ["refund"]}),
                          {"input": "My parcel is late", "actual_output": "Sorry, it is delayed (7)"}),
        EvaluationRequest(ScorerRef("answer_relevancy", threshold=0.5),
                          {"input": "slow question", "actual_output": "Sorry, it is delayed (7)"}),
    ]
    return make_span("late-parcel", {semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
                                     semconv.JUDGEVAL_EVAL_REQUESTS: encode_requests(requests)})


@contextmanager
def evaluator_process(tmp_path: Path, receiver: OtlpTraceReceiver, config: Path) -> Iterator[
        tuple[subprocess.Popen[str], int]]:
    """``python -m evaluator_service`` on a free port with ``config``, its data in ``tmp_path/data``."""
    command = [sys.executable, "-m", "evaluator_service", "--listen", "127.0.0.1:0", "--data-dir",
               str(tmp_path / "data"), "--export-endpoint", receiver.endpoint, "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUDGEVAL_EVALUATOR_", "OTEL_"))}
    env["OPENAI_API_KEY"] = "test-key"
    with (tmp_path / "stderr.log").open("a") as stderr, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("judgeval-evaluator listening on 127.0.0.1:"), line
            yield process, int(line.rsplit(":", 1)[1])
        finally:
            if process.poll() is None:
                process.kill()


def placed(state_file: Path) -> dict[str, object]:
    """Members, bucketed members, evidence and events of the one behavior, read with plain SQLite."""
    if not state_file.exists():
        return {}
    with sqlite3.connect(state_file) as db:
        rows = db.execute("SELECT id, member_count, examples FROM judgeval_behaviors").fetchall()
        if not rows:
            return {}
        ((bid, members, examples),) = rows
        bucketed = db.execute("SELECT SUM(members) FROM judgeval_behavior_buckets WHERE id = ?",
                              (bid,)).fetchone()[0]
        events = [k for (k,) in db.execute("SELECT kind FROM judgeval_behavior_events ORDER BY sequence")]
    return {"id": bid, "members": members, "bucketed": bucketed, "examples": len(json.loads(examples)),
            "events": events}


def test_an_evaluator_killed_between_placement_and_export_counts_the_span_once(tmp_path: Path) -> None:
    config = tmp_path / "evaluator.yaml"
    recordings = [Recording(match=["slow question"], answer='{"score": 0.9, "reason": "relevant"}',
                            delay_ms=1500)]
    state_file = tmp_path / "data" / "state.sqlite3"
    with RecordedOpenAIServer(recordings) as judge, OtlpTraceReceiver() as receiver:
        config.write_text(f"judge: {{base_url: {judge.base_url}}}\n")
        with evaluator_process(tmp_path, receiver, config) as (process, port):
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                TraceServiceStub(channel).Export(make_request([failing_span()]), timeout=30)
            eventually(lambda: judge.requests, "the judge was never asked")
            # Hold the queue's write lock: the scored span cannot be stored for export, so the kill below
            # lands after the behavior placement and before the export, whatever the machine's speed.
            queue = sqlite3.connect(tmp_path / "data" / DB_FILE_NAME, isolation_level=None)
            queue.execute("BEGIN IMMEDIATE")
            eventually(lambda: placed(state_file).get("members") == 1, "the span was never placed",
                       timeout=60)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            queue.execute("ROLLBACK")
            queue.close()
        assert receiver.spans == []
        first = placed(state_file)
        with evaluator_process(tmp_path, receiver, config):
            receiver.wait_for(lambda got: len(got) >= 1, timeout=60)
        (span,) = receiver.spans
    assert placed(state_file) == first == {"id": first["id"], "members": 1, "bucketed": 1, "examples": 1,
                                           "events": ["behavior.created"]}
    assert span.attributes[semconv.JUDGEVAL_BEHAVIOR_ID] == first["id"]
    assert span.attributes[semconv.JUDGEVAL_BEHAVIOR_NEW] is True  # no export before this one said it
    assert len(judge.requests) == 2  # it really was scored again
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()
