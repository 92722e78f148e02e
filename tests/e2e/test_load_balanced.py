"""Two evaluator replicas behind the collector's load-balancing exporter, keyed by trace id."""

from __future__ import annotations

from collections import Counter

from judgeval import semconv

from tools.localstack.binaries import OtelBinaries
from tools.localstack.runner import StackEnv
from tools.localstack.stack import JaegerInstance

from .replicas import load_balanced_replicas
from .traffic import Traffic, fetch_all


def test_two_replicas_score_every_trace_once(
    otel_binaries: OtelBinaries, jaeger: JaegerInstance, stack_env: StackEnv
) -> None:
    with load_balanced_replicas(otel_binaries, jaeger, stack_env) as replicas:
        traffic = Traffic(replicas.collector_endpoint)
        traffic.send(40, answers_per_trace=2)
        traces = fetch_all(jaeger.query, traffic)
        traffic.close()

    counts = Counter(s.name for spans in traces.values() for s in spans)
    assert counts == Counter({"agent-run": 40, "answer": 80})  # none lost, none duplicated
    scored_by: Counter[str] = Counter()
    for spans in traces.values():
        answers = [s for s in spans if s.name == "answer"]
        assert {a.attributes[semconv.JUDGEVAL_EVAL_STATUS] for a in answers} == {semconv.EvalStatus.SCORED}
        evaluators = {a.attributes[semconv.JUDGEVAL_EVAL_EVALUATOR] for a in answers}
        assert len(evaluators) == 1, "a trace's tagged spans were split across replicas"
        scored_by[evaluators.pop().rpartition(":")[2]] += 1
    assert set(scored_by) == replicas.ports()  # the load balancer used both replicas
