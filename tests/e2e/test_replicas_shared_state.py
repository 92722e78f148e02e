"""Scale-out as the README tells it: replicas behind load_balancing, one PostgreSQL for shared state.

The docs' scorer is uploaded once, through replica A's admin API with the real CLI; spans the load
balancer sends to replica B are scored by it too.
"""

from __future__ import annotations

from collections import Counter

from judgeval import semconv
from judgeval.evaluation_request import EvaluationRequest, ScorerRef
from state.postgres_cluster import PostgresCluster

from evaluator_service.localstack.procs import COLLECTOR_CONFIG_DIR, OtelBinaries, free_endpoint
from evaluator_service.localstack.runner import StackEnv, start_evaluator, upload_docs_scorer
from evaluator_service.localstack.stack import JaegerInstance, start_collector

from .traffic import Traffic, fetch_all

SCORER = "Package Inquiry Scorer"


def test_a_scorer_uploaded_to_one_replica_scores_on_every_replica(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv, postgres: PostgresCluster
) -> None:
    state_db = ["--state-db", postgres.url(postgres.new_database())]
    first, second = free_endpoint(), free_endpoint()
    request = EvaluationRequest(
        ScorerRef(name=SCORER), example={"request": "Where is my package?", "response": "It ships today."}
    )
    with (
        start_collector(
            otel_binaries.otelcol,
            stack_env.work_dir / "otelcol",
            first,
            jaeger.otlp_grpc_endpoint,
            config=COLLECTOR_CONFIG_DIR / "otelcol-loadbalanced.yaml",
            JUDGEVAL_EVALUATOR_ENDPOINTS=f"[{first}, {second}]",
        ) as collector,
        start_evaluator(stack_env, first, collector.grpc_endpoint, *state_db, name="replica-a") as replica_a,
        start_evaluator(stack_env, second, collector.grpc_endpoint, *state_db, name="replica-b"),
    ):
        upload_docs_scorer(stack_env, replica_a.endpoint)
        traffic = Traffic(collector.grpc_endpoint)
        traffic.send(20, request=request)
        traces = fetch_all(jaeger.query, traffic)
        traffic.close()

    value_key = semconv.score_attribute(SCORER, semconv.ScoreField.VALUE)
    answers = [s for spans in traces.values() for s in spans if s.name == "answer"]
    assert len(answers) == 20
    assert {a.attributes[semconv.JUDGEVAL_EVAL_STATUS] for a in answers} == {semconv.EvalStatus.SCORED}
    assert {a.attributes[value_key] for a in answers} == {1.0}
    # 20 traces keyed by random trace ids land on both replicas (all on one: probability 2^-19).
    replicas = Counter(a.attributes[semconv.JUDGEVAL_EVAL_EVALUATOR].rpartition(":")[2] for a in answers)
    assert set(replicas) == {first.rpartition(":")[2], second.rpartition(":")[2]}
