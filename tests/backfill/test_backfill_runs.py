"""Backfill runs beyond the happy path: the log records reach the downstream in the scored span's context,
a scorer paused mid-run (its judge rejecting the key) stops the run with the reason, and two evaluator
replicas sharing the state database, backfilling the same range at once, score every span exactly once."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from judgeval import semconv
from judgeval.protocol.otlp_values import attributes_dict
from judgeval.testing.openai_server import RecordedOpenAIServer, Recording
from judgeval.testing.otlp_receiver import OtlpTraceReceiver

from tests.backfill.backfill_stack import SCORER, BackfillStack, evaluator, evaluator_config
from tests.backfill.past_traffic import PastTraffic
from tests.support.polling import eventually
from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv
from tools.localstack.stack import JaegerInstance, start_collector

NOW = datetime.now(UTC)
CHAT = ("--operation", "chat gpt-4o", "--since", "7d")


@pytest.mark.timeout(300)
def test_results_reach_the_downstream_as_spans_and_log_records(
    jaeger: JaegerInstance, stack_env: StackEnv, judge: RecordedOpenAIServer,
    evaluator_receiver: OtlpTraceReceiver,
) -> None:
    traffic = PastTraffic(jaeger)
    sent = traffic.add(NOW - timedelta(days=1), "Where is my parcel?", "It left the depot.")
    traffic.flush()
    traffic.close()
    with evaluator(stack_env, jaeger, evaluator_config(judge), evaluator_receiver.endpoint) as stack:
        run = stack.backfill(*CHAT, "--yes")
        assert "finished: 1 of 1 spans: 1 passed" in run.stdout, run.stdout + run.stderr
        [span] = eventually(lambda: evaluator_receiver.spans, "the result span downstream", 60)
        [(resource, record)] = eventually(lambda: evaluator_receiver.log_records, "the result log record", 60)
    assert span.name == f"evaluate {SCORER}" and span.parent_span_id == sent.chat_span_id
    assert (record.trace_id.hex(), record.span_id.hex()) == (sent.trace_id, sent.chat_span_id)
    attributes = attributes_dict(record.attributes)
    assert attributes[semconv.GEN_AI_EVALUATION_NAME] == SCORER
    assert attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE] == 1.0
    assert attributes[semconv.JUDGEVAL_BACKFILL_RUN_ID] == span.attributes[semconv.JUDGEVAL_BACKFILL_RUN_ID]
    assert resource["service.name"] == "support-agent"


@pytest.mark.timeout(300)
def test_a_scorer_paused_mid_run_stops_the_run_with_the_reason(
    jaeger: JaegerInstance, stack_env: StackEnv, evaluator_receiver: OtlpTraceReceiver
) -> None:
    traffic = PastTraffic(jaeger)
    for day, question in ((3, "parcel"), (2, "refund"), (1, "invoice")):
        traffic.add(NOW - timedelta(days=day), f"Question about a {question}", "An answer.")
    traffic.flush()
    traffic.close()
    answers = [Recording(match=["refund"], status=401, answer="invalid api key"),
               Recording(answer='{"score": 1, "reason": "fine"}')]
    with RecordedOpenAIServer(answers) as judge:
        config = evaluator_config(judge, concurrency=1)
        with evaluator(stack_env, jaeger, config, evaluator_receiver.endpoint) as stack:
            run = stack.backfill(*CHAT, "--yes")
        assert run.returncode == 0, run.stderr
        assert "stopped (scorer paused: judge answered HTTP 401" in run.stdout, run.stdout
        assert "after 2 of 3 spans: 1 passed, 0 failed, 1 errors" in run.stdout
        assert "spans that got no score were not written" in run.stdout
        assert len(judge.requests) == 2  # the third span was never started


@pytest.mark.timeout(300)
def test_two_replicas_backfilling_the_same_range_score_each_span_once(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> None:
    traffic = PastTraffic(jaeger)
    sent = [traffic.add(NOW - timedelta(hours=6 * i + 1), f"parcel question {i}", "An answer.")
            for i in range(6)]
    traffic.flush()
    traffic.close()
    state_db = f"sqlite:///{stack_env.work_dir / 'shared-state.sqlite3'}"
    slow = [Recording(answer='{"score": 1, "reason": "fine"}', delay_ms=300)]
    with RecordedOpenAIServer(slow) as judge, start_collector(
            otel_binaries.otelcol, stack_env.work_dir / "otelcol", free_endpoint(), jaeger.otlp_grpc_endpoint
    ) as collector:
        config = evaluator_config(judge, concurrency=1)
        with evaluator(stack_env, jaeger, config, collector.grpc_endpoint, None, "--state-db", state_db,
                       name="replica-a") as a, \
                evaluator(stack_env, jaeger, config, collector.grpc_endpoint, None, "--state-db", state_db,
                          name="replica-b") as b:
            runs = [start_backfill(stack) for stack in (a, b)]
            outputs = [run.communicate(timeout=240) for run in runs]
        for run, (_out, err) in zip(runs, outputs, strict=True):
            assert run.returncode == 0, err
        assert len(judge.requests) == 6, outputs
        written = sum(int(out.split(" results written")[0].rsplit(" ", 1)[1]) for out, _ in outputs)
        assert written == 6, outputs
        for trace in sent:
            eventually(lambda t=trace: [s.name for s in jaeger.query.trace(t.trace_id)
                                        if s.name.startswith("evaluate")] == [f"evaluate {SCORER}"],
                       f"exactly one result in {trace.trace_id}", 60)


def start_backfill(stack: BackfillStack) -> subprocess.Popen[str]:
    argv = stack.backfill_argv(*CHAT, "--yes")
    env = stack.env.process_env(JUDGMENT_API_URL=stack.evaluator, JUDGMENT_API_KEY=stack.env.api_key)
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
