"""``judgeval backfill`` end to end: past traffic in the real Jaeger, a real evaluator and collector, the
CLI as a user runs it. The estimate comes first, a dry run writes nothing, a run writes each result into
its trace (an ``evaluate <scorer>`` child of the scored span, visible in Jaeger), a second run scores
nothing, the budget stops a run, and bad input or an unreachable Jaeger give one clear line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import grpc
import pytest
from judgeval import semconv
from judgeval.admin.v1.backfill_pb2 import BackfillRequest
from judgeval.admin.v1.backfill_pb2_grpc import BackfillStub
from judgeval.testing.openai_server import RecordedOpenAIServer

from tests.backfill.backfill_stack import SCORER, backfill_stack, evaluator_config
from tests.backfill.past_traffic import PastTrace, PastTraffic
from tests.support.polling import eventually
from tools.localstack.binaries import OtelBinaries
from tools.localstack.jaeger_query import JaegerSpan
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv
from tools.localstack.stack import JaegerInstance

NOW = datetime.now(UTC)
SCORE_VALUE = semconv.score_attribute(SCORER, semconv.ScoreField.VALUE)


def past_week(jaeger: JaegerInstance) -> dict[str, PastTrace]:
    """Four chats of last week, one of last month, one the evaluator scored live already."""
    traffic = PastTraffic(jaeger)
    traces = {
        "parcel": traffic.add(NOW - timedelta(days=5), "Where is my parcel?", "It left the depot."),
        "refund": traffic.add(NOW - timedelta(days=4), "Can I get a refund?", "Our shop opens at 9."),
        "invoice": traffic.add(NOW - timedelta(days=3), "Send my invoice", "Sent to your email."),
        "old": traffic.add(NOW - timedelta(days=20), "Where is my parcel?", "It left the depot."),
        "live": traffic.add(NOW - timedelta(days=2), "Warranty?", "Two years.", {SCORE_VALUE: 1.0}),
    }
    traffic.flush()
    traffic.close()
    return traces


def evaluations(jaeger: JaegerInstance, trace: PastTrace) -> list[JaegerSpan]:
    return [s for s in jaeger.query.trace(trace.trace_id) if s.name == f"evaluate {SCORER}"]


@pytest.mark.timeout(300)
def test_a_backfill_estimates_then_writes_results_into_the_traces_once(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv, judge: RecordedOpenAIServer
) -> None:
    traces = past_week(jaeger)
    with backfill_stack(otel_binaries, stack_env, jaeger, evaluator_config(judge)) as stack:
        dry = stack.backfill("--tags", "gen_ai.operation.name=chat", "--since", "7d", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "spans matching: 4, already backfilled: 0, already scored live: 1" in dry.stdout
        assert "to score: 3 spans, 3 judge calls" in dry.stdout and "about $0.0300" in dry.stdout
        assert traces["parcel"].chat_span_id in dry.stdout and traces["old"].trace_id not in dry.stdout
        assert "dry run: nothing scored, nothing written" in dry.stderr
        as_json = stack.backfill("--tags", "gen_ai.operation.name=chat", "--since", "7d", "--dry-run",
                                 "--json")
        estimate = json.loads(as_json.stdout)["estimate"]
        assert (estimate["spans_to_score"], estimate["judge_calls"], estimate["priced"]) == ("3", "3", True)
        assert [s["span_id"] for s in estimate["spans"]] == [traces[n].chat_span_id
                                                            for n in ("parcel", "refund", "invoice")]
        assert judge.requests == [] and evaluations(jaeger, traces["parcel"]) == []

        unconfirmed = stack.backfill("--tags", "gen_ai.operation.name=chat", "--since", "7d")
        assert unconfirmed.returncode == 2 and "pass --yes" in unconfirmed.stderr
        assert judge.requests == []

        run = stack.backfill("--tags", "gen_ai.operation.name=chat", "--since", "7d", "--yes")
        assert run.returncode == 0, run.stderr
        assert "finished: 3 of 3 spans: 2 passed, 1 failed, 0 errors; 3 results written" in run.stdout
        assert "3 judge calls, $0.0300" in run.stdout
        assert len(judge.requests) == 3
        for name, value in (("parcel", 1.0), ("refund", 0.0), ("invoice", 1.0)):
            trace = traces[name]
            found = eventually(lambda t=trace: evaluations(jaeger, t), f"the result in trace {name}", 60)
            assert len(found) == 1
            result = found[0]
            assert result.parent_span_id == trace.chat_span_id
            assert result.attributes[SCORE_VALUE] == value
            assert result.attributes[semconv.JUDGEVAL_EVAL_STATUS] == semconv.EvalStatus.SCORED.value
            assert result.attributes[semconv.JUDGEVAL_BACKFILL_SCORED_SPAN_ID] == trace.chat_span_id
            assert result.resource["service.name"] == "support-agent"
            assert [e for e, _ in result.events] == [semconv.GEN_AI_EVALUATION_RESULT_EVENT]
        assert evaluations(jaeger, traces["old"]) == [] and evaluations(jaeger, traces["live"]) == []

        again = stack.backfill("--tags", "gen_ai.operation.name=chat", "--since", "7d", "--yes")
        assert again.returncode == 0, again.stderr
        assert "already backfilled: 3, already scored live: 1" in again.stdout
        assert "to score: 0 spans" in again.stdout and "nothing to score" in again.stderr
        assert len(judge.requests) == 3
        # Without the tag filter the result spans are in the service too: evaluation spans never match.
        wider = stack.backfill("--since", "7d", "--operation", "chat gpt-4o", "--dry-run")
        assert "spans matching: 4, already backfilled: 3" in wider.stdout, wider.stdout


@pytest.mark.timeout(300)
def test_the_budget_stops_a_run_and_a_later_run_scores_the_rest(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv, judge: RecordedOpenAIServer
) -> None:
    traces = past_week(jaeger)
    with backfill_stack(otel_binaries, stack_env, jaeger, evaluator_config(judge)) as stack:
        estimate = stack.backfill("--since", "7d", "--operation", "chat gpt-4o", "--max-cost-usd", "0.025",
                                  "--dry-run")
        assert "budget: stops after 2 of 3 spans" in estimate.stdout, estimate.stdout
        stopped = stack.backfill("--since", "7d", "--operation", "chat gpt-4o", "--max-judge-calls", "2",
                                 "--yes")
        assert stopped.returncode == 0, stopped.stderr
        assert "stopped by budget after 2 of 3 spans" in stopped.stdout
        assert len(judge.requests) == 2
        declined = stack.backfill_answering("n", "--since", "7d", "--operation", "chat gpt-4o")
        assert declined.returncode == 1 and "not started" in declined.stderr, declined.stderr
        assert "Score 1 spans with 'relevancy'? [y/N]" in declined.stdout
        assert len(judge.requests) == 2
        rest = stack.backfill_answering("y", "--since", "7d", "--operation", "chat gpt-4o")
        assert "finished: 1 of 1 spans" in rest.stdout, rest.stdout + rest.stderr
        assert len(judge.requests) == 3
        for name in ("parcel", "refund", "invoice"):
            eventually(lambda t=traces[name]: len(evaluations(jaeger, t)) == 1, f"one result in {name}", 60)


@pytest.mark.timeout(300)
def test_bad_input_and_an_unreachable_jaeger_give_one_clear_line(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv, judge: RecordedOpenAIServer
) -> None:
    past_week(jaeger)
    gone = f"http://{free_endpoint()}"
    config = evaluator_config(judge, max_spans=2,
                              allowed_jaeger_urls=[jaeger.query_url, gone, f"{jaeger.query_url}/nope"])
    with backfill_stack(otel_binaries, stack_env, jaeger, config) as stack:
        cases = [
            (stack.backfill("--since", "7d", "--yes", jaeger=gone), 1,
             f"judgeval: error: Jaeger at {gone} is unreachable: [Errno 111] Connection refused\n"),
            (stack.backfill("--since", "7d", "--tags", "nokey"), 2, "--tags 'nokey': expected KEY=VALUE"),
            (stack.backfill("--since", "yesterday"), 2, "--since 'yesterday': expected a duration ago"),
            (stack.backfill("--since", "1d", "--until", "3d"), 2, "is not before --until"),
            (stack.backfill("--since", "1d", jaeger="jaeger:16686"), 1, "must start with http://"),
            (stack.backfill("--since", "7d", jaeger=f"{jaeger.query_url}/nope"), 1, "base path"),
            (stack.backfill("--since", "7d", scorer="nosuch"), 1, "no scorer named 'nosuch' on this"),
            (stack.backfill("--since", "7d", jaeger=""), 1,
             "no Jaeger query URL: pass --jaeger http://HOST:16686 or set backfill.jaeger_url"),
            (stack.backfill("--since", "7d", scorer="relevancy@2"), 1, "it has no versions (drop @2)"),
            (stack.backfill("--since", "7d", scorer="relevancy@x"), 2, "after @ must be a number"),
            # not in backfill.allowed_jaeger_urls: refused before any request leaves the evaluator
            (stack.backfill("--since", "7d", jaeger="http://169.254.169.254/latest"), 1,
             "Jaeger query URL 'http://169.254.169.254/latest' is not allowed: the evaluator reads only "
             "backfill.jaeger_url (not set) and backfill.allowed_jaeger_urls"),
        ]
        for result, code, message in cases:
            assert result.returncode == code and message in result.stderr, (result.stderr, message)
            assert "Traceback" not in result.stderr
        too_many = stack.backfill("--since", "7d", "--tags", "gen_ai.operation.name=chat")
        assert too_many.returncode == 1
        assert "more than 2 spans match (backfill.max_spans); narrow the time range" in too_many.stderr
        # a look-alike of the allowed URL (its host is 127.0.0.2, after a user part) is refused as well
        allowed = urlsplit(jaeger.query_url)
        lookalike = f"http://{allowed.netloc}@127.0.0.2:{allowed.port}"
        with grpc.insecure_channel(stack.evaluator) as channel, pytest.raises(grpc.RpcError) as refused:
            BackfillStub(channel).EstimateBackfill(
                BackfillRequest(scorer=SCORER, jaeger_url=lookalike),
                metadata=(("authorization", f"Bearer {stack.env.api_key}"),), timeout=30)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "backfill.allowed_jaeger_urls" in (refused.value.details() or "")
    assert judge.requests == []
