"""Scale-out as the README tells it: replicas behind load_balancing, one PostgreSQL for shared state.

The docs' scorer is uploaded once, through replica A's admin API with the real CLI; spans the load
balancer sends to replica B are scored by it too.
"""

from __future__ import annotations

from collections import Counter

from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef

from evaluator_service.localstack.procs import OtelBinaries
from evaluator_service.localstack.runner import StackEnv, upload_docs_scorer
from evaluator_service.localstack.stack import JaegerInstance
from tests.support.postgres_cluster import PostgresCluster

from .replicas import load_balanced_replicas
from .traffic import Traffic, fetch_all

SCORER = "Package Inquiry Scorer"


def test_a_scorer_uploaded_to_one_replica_scores_on_every_replica(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv, postgres: PostgresCluster
) -> None:
    state_db = postgres.url(postgres.new_database())
    request = EvaluationRequest(
        ScorerRef(name=SCORER), example={"request": "Where is my package?", "response": "It ships today."}
    )
    with load_balanced_replicas(otel_binaries, jaeger, stack_env, "--state-db", state_db) as replicas:
        upload_docs_scorer(stack_env, replicas.first.endpoint)
        traffic = Traffic(replicas.collector_endpoint)
        traffic.send(20, request=request)
        traces = fetch_all(jaeger.query, traffic)
        traffic.close()

    value_key = semconv.score_attribute(SCORER, semconv.ScoreField.VALUE)
    answers = [s for spans in traces.values() for s in spans if s.name == "answer"]
    assert len(answers) == 20
    assert {a.attributes[semconv.JUDGEVAL_EVAL_STATUS] for a in answers} == {semconv.EvalStatus.SCORED}
    assert {a.attributes[value_key] for a in answers} == {1.0}
    # 20 traces keyed by random trace ids land on both replicas (all on one: probability 2^-19).
    scored_by = Counter(a.attributes[semconv.JUDGEVAL_EVAL_EVALUATOR].rpartition(":")[2] for a in answers)
    assert set(scored_by) == replicas.ports()
