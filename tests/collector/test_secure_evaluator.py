"""The shipped overlay ``secure-evaluator.yaml`` on the real collector: it reaches the real evaluator over
mutual TLS with the bearer token its ``bearertokenauth`` extension sends, and the evaluator takes nothing
without that token."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import yaml
from evaluator.certificates import make_certificates  # tests/evaluator (tests/ is on sys.path)
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.testing.otlp_receiver import OtlpTraceReceiver
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from evaluator_service import environment_variables as variables
from evaluator_service.app import EvaluatorApp
from evaluator_service.config import load_config
from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import COLLECTOR_CONFIG_DIR, run_binary_on_free_ports
from tools.localstack.stack import collector_env

TOKEN = "collector-to-evaluator-token"
OVERLAY = COLLECTOR_CONFIG_DIR / "secure-evaluator.yaml"


def evaluator_config(tmp_path: Path, backend: OtlpTraceReceiver):
    certs = make_certificates(tmp_path / "certs")
    doc = {"ingress": {"tls": {"cert_file": str(certs.server_cert), "key_file": str(certs.server_key),
                               "client_ca_file": str(certs.ca)}},
           "export": {"backoff_initial_s": 0.02, "backoff_max_s": 0.1}}
    path = tmp_path / "evaluator.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(listen="127.0.0.1:0", export_endpoint=backend.endpoint,
                         data_dir=str(tmp_path / "data"), config_file=str(path),
                         environ={variables.JUDGEVAL_EVALUATOR_OTLP_TOKEN: TOKEN})
    return config, certs


def send_tagged_span(collector_endpoint: str) -> None:
    requests = encode_requests([EvaluationRequest(ScorerRef(name="regex", threshold=0.5,
                                                            config={"pattern": "ok"}),
                                                  {"actual_output": "ok"})])
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=collector_endpoint, insecure=True)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("agent").start_as_current_span("secured") as span:
        span.set_attribute(semconv.JUDGEVAL_EVAL_STATUS, semconv.EvalStatus.PENDING.value)
        span.set_attribute(semconv.JUDGEVAL_EVAL_REQUESTS, requests)
    provider.shutdown()


async def test_collector_reaches_the_evaluator_over_mutual_tls_with_a_bearer_token(
    otel_binaries: OtelBinaries, tmp_path: Path
) -> None:
    with OtlpTraceReceiver() as backend:
        config, certs = evaluator_config(tmp_path, backend)
        app = EvaluatorApp(config)
        await app.start()
        try:
            client = grpc.ssl_channel_credentials(
                certs.ca.read_bytes(), certs.client_key.read_bytes(), certs.client_cert.read_bytes())
            async with grpc.aio.secure_channel(f"localhost:{app.port}", client) as ch:
                stub_call = ch.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
                try:
                    await stub_call(b"", timeout=5)  # a client with the certificate but no token
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() is grpc.StatusCode.UNAUTHENTICATED
                else:
                    raise AssertionError("an export without the token was accepted")
            env = {variables.JUDGEVAL_EVALUATOR_OTLP_TOKEN: TOKEN,
                   variables.JUDGEVAL_EVALUATOR_CA_FILE: str(certs.ca),
                   variables.JUDGEVAL_COLLECTOR_CLIENT_CERT_FILE: str(certs.client_cert),
                   variables.JUDGEVAL_COLLECTOR_CLIENT_KEY_FILE: str(certs.client_key)}
            argv = [str(otel_binaries.otelcol), f"--config={COLLECTOR_CONFIG_DIR / 'otelcol-jaeger.yaml'}",
                    f"--config={OVERLAY}"]
            with run_binary_on_free_ports(
                "otelcol", argv,
                lambda: collector_env(tmp_path / "otelcol", f"localhost:{app.port}", backend.endpoint, **env),
                tmp_path / "otelcol" / "otelcol.log",
                lambda e: f"http://{e[variables.JUDGEVAL_COLLECTOR_HEALTH_ENDPOINT]}/",
            ) as (collector, _):
                endpoint = collector[variables.JUDGEVAL_COLLECTOR_GRPC_ENDPOINT]
                await asyncio.to_thread(send_tagged_span, endpoint)
                received = await asyncio.to_thread(
                    backend.wait_for, lambda spans: any(s.name == "secured" for s in spans), 60)
        finally:
            await app.stop(grace=2)
    scored = [s for s in received if s.name == "secured"]
    assert [s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in scored] == [semconv.EvalStatus.SCORED.value]
