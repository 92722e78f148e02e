"""The shipped ``judgeval-evaluator`` process serves datasets: OTLP spans scored there land in the rule's
dataset, which the ``judgeval datasets`` CLI reads (the Datasets API is installed like the other admin
APIs), and ``add --trace`` without a configured Jaeger says which setting is missing."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import yaml
from judgeval.dataset import Dataset
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.support.polling import eventually
from tests.support.spans import make_request, make_span, tagged_attributes
from tools.localstack.procs import free_endpoint
from tools.localstack.runner import StackEnv, start_evaluator


def judgeval(env: StackEnv, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(Path(sys.executable).parent / "judgeval"), "datasets", *args]
    cli_env = env.process_env(JUDGMENT_API_URL=endpoint, JUDGMENT_API_KEY=env.api_key)
    return subprocess.run(argv, env=cli_env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.timeout(120)
def test_the_evaluator_process_fills_and_serves_datasets(tmp_path: Path, receiver: OtlpTraceReceiver
                                                         ) -> None:
    env = StackEnv(tmp_path, secrets.token_urlsafe(16))
    config = tmp_path / "evaluator.yaml"
    config.write_text(yaml.safe_dump({
        "scorers": [{"name": "Polite", "type": "regex", "options": {"pattern": "please"}}],
        "behaviors": {"enabled": False},
        "datasets": {"rules": [{"dataset": "rude", "scorers": ["Polite"], "max_examples": 100}]}}))
    spans = [make_span("answer", tagged_attributes(("Polite", {"input": "hi", "actual_output": text})))
             for text in ("go away", "please hold", "no")]
    with start_evaluator(env, free_endpoint(), receiver.endpoint, "--config", str(config)) as evaluator:
        with grpc.insecure_channel(evaluator.endpoint) as channel:
            trace_service_pb2_grpc.TraceServiceStub(channel).Export(make_request(spans), timeout=10)

        def stored() -> int:
            shown = judgeval(env, evaluator.endpoint, "show", "rude", "--json")
            return int(json.loads(shown.stdout)["example_count"]) if shown.returncode == 0 else 0

        eventually(lambda: stored() == 2, "two failing answers in the dataset", 30)
        out = tmp_path / "rude.csv"
        exported = judgeval(env, evaluator.endpoint, "export", "rude", "-o", str(out))
        assert exported.returncode == 0, exported.stderr
        listed = judgeval(env, evaluator.endpoint, "list").stdout
        no_jaeger = judgeval(env, evaluator.endpoint, "add", "rude", "--trace", spans[0].trace_id.hex())
    records = Dataset.from_file(out).records
    assert sorted(r.example["actual_output"] for r in records) == ["go away", "no"]
    name, _version, count, retention = listed.splitlines()[1].split()[:4]  # one or two batches: 1 or 2
    assert (name, count, retention) == ("rude", "2", "100")
    assert no_jaeger.returncode == 1 and "set backfill.jaeger_url" in no_jaeger.stderr
