"""Securing the OTLP intake: TLS and mutual TLS on the gRPC listener (the admin API included), and the
bearer token the collector's ``bearertokenauth`` extension sends. Real TLS with certificates made for
the test, real clients (grpc, OpenTelemetry's OTLP exporter, the ``judgeval`` CLI)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from evaluator_service.admin.alerts_servicer import alerts_installer
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.config import ConfigError
from evaluator_service.environment_variables import JUDGEVAL_EVALUATOR_OTLP_TOKEN
from tests.support.evaluator import running, wait_for
from tests.support.spans import make_request, make_span

from .certificates import Certificates, make_certificates

TOKEN = "s3cret-otlp-token"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def tls_doc(certs: Certificates, mutual: bool = False) -> dict[str, object]:
    tls = {"cert_file": str(certs.server_cert), "key_file": str(certs.server_key)}
    if mutual:
        tls["client_ca_file"] = str(certs.ca)
    return {"ingress": {"tls": tls}}


def credentials(certs: Certificates, ca: Path | None = None, client: bool = False) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=(ca or certs.ca).read_bytes(),
        private_key=certs.client_key.read_bytes() if client else None,
        certificate_chain=certs.client_cert.read_bytes() if client else None,
    )


async def export_code(target: str, creds: grpc.ChannelCredentials | None,
                      metadata: tuple[tuple[str, str], ...] = ()) -> grpc.StatusCode:
    channel = grpc.aio.secure_channel(target, creds) if creds else grpc.aio.insecure_channel(target)
    async with channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        try:
            await stub.Export(make_request([make_span("probe")]), metadata=metadata, timeout=5)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def export_with_otel_sdk(endpoint: str, **exporter_args: object) -> None:
    """One span through OpenTelemetry's own OTLP/gRPC exporter, as an agent would send it."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, **exporter_args)))
    with provider.get_tracer("test").start_as_current_span("from-otel-sdk"):
        pass
    provider.shutdown()


async def test_tls_listener_takes_exports_from_clients_trusting_its_ca(make_config, receiver, certs):
    async with running(make_config(tls_doc(certs))) as app:
        target = f"localhost:{app.port}"
        assert await export_code(target, credentials(certs)) is grpc.StatusCode.OK
        assert await export_code(target, None) is grpc.StatusCode.UNAVAILABLE  # plaintext cannot talk
        assert await export_code(target, credentials(certs, ca=certs.other_ca)) is grpc.StatusCode.UNAVAILABLE
        await asyncio.to_thread(export_with_otel_sdk, f"https://localhost:{app.port}",
                                credentials=credentials(certs))
        await wait_for(receiver, lambda s: sorted(x.name for x in s) == ["from-otel-sdk", "probe"])


async def test_mutual_tls_requires_a_client_certificate_from_the_configured_ca(make_config, receiver, certs):
    async with running(make_config(tls_doc(certs, mutual=True))) as app:
        target = f"localhost:{app.port}"
        assert await export_code(target, credentials(certs)) is grpc.StatusCode.UNAVAILABLE
        assert await export_code(target, credentials(certs, client=True)) is grpc.StatusCode.OK
        await wait_for(receiver, lambda s: [x.name for x in s] == ["probe"])


async def test_bearer_token_guards_otlp_export_only(make_config, receiver, monkeypatch):
    monkeypatch.setenv(JUDGEVAL_EVALUATOR_OTLP_TOKEN, TOKEN)
    async with running(make_config()) as app:
        target = f"127.0.0.1:{app.port}"
        assert await export_code(target, None) is grpc.StatusCode.UNAUTHENTICATED
        wrong = (("authorization", "Bearer not-the-token"),)
        assert await export_code(target, None, wrong) is grpc.StatusCode.UNAUTHENTICATED
        assert await export_code(target, None, (("authorization", TOKEN),)) is grpc.StatusCode.UNAUTHENTICATED
        assert await export_code(target, None, (("authorization", f"Bearer {TOKEN}"),)) is grpc.StatusCode.OK
        await asyncio.to_thread(export_with_otel_sdk, f"http://{target}", insecure=True,
                                headers={"authorization": f"Bearer {TOKEN}"})
        async with grpc.aio.insecure_channel(target) as channel:  # health checks carry no token
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        received = await wait_for(receiver, lambda s: len(s) == 2)
    assert sorted(s.name for s in received) == ["from-otel-sdk", "probe"]  # refused exports left no span


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("judgeval")), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


async def test_admin_api_over_tls_with_the_judgeval_cli(make_config, certs):
    api_key = "admin-key"
    config = make_config({**tls_doc(certs), "api_key": api_key})
    alerts = AlertManager(config.alerts)
    async with running(config, alerts=alerts, service_installers=[alerts_installer(alerts, api_key)]) as app:
        env = {**os.environ, "JUDGMENT_API_URL": f"https://localhost:{app.port}", "JUDGMENT_API_KEY": api_key,
               "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(certs.ca)}  # how gRPC clients trust a private CA
        code, output = await run_cli(env, "alerts", "list")
        assert code == 0, output
        env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(certs.other_ca)  # a server it cannot verify
        code, output = await run_cli(env, "alerts", "list")
        assert code != 0 and "Traceback" not in output
        assert "set GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=<file> to the CA file" in output, output
        # only our message: gRPC's C-core logs its own "Handshake failed" line unless the CLI quiets it
        assert [line for line in output.splitlines() if line.strip()] == [
            line for line in output.splitlines() if line.startswith("judgeval: ")], output
        # ...unless the user asked gRPC for its logs, or its tracers
        for asked in ({"GRPC_VERBOSITY": "info"}, {"GRPC_TRACE": "handshaker"}):
            code, output = await run_cli({**env, **asked}, "alerts", "list")
            assert code != 0 and "Handshake failed" in output, output
        env["JUDGMENT_API_URL"] = f"http://localhost:{app.port}"  # plaintext to a TLS listener
        code, output = await run_cli(env, "alerts", "list")
        assert code != 0 and "Traceback" not in output
        assert "if it serves TLS (ingress.tls), set JUDGMENT_API_URL=https://" in output, output


def test_tls_settings_are_validated(make_config, certs, tmp_path):
    with pytest.raises(ConfigError, match=r"ingress\.tls\.key_file: required"):
        make_config({"ingress": {"tls": {"cert_file": str(certs.server_cert)}}})
    with pytest.raises(ConfigError, match=r"ingress\.tls\.client_ca_file: no such file"):
        tls = {"cert_file": str(certs.server_cert), "key_file": str(certs.server_key),
               "client_ca_file": str(tmp_path / "missing.crt")}
        make_config({"ingress": {"tls": tls}})
    with pytest.raises(ConfigError, match=r"ingress\.bearer_token: must be a non-empty single-line"):
        make_config({"ingress": {"bearer_token": "a\nb"}})
    with pytest.raises(ConfigError, match=r"ingress\.token: unknown key"):
        make_config({"ingress": {"token": "x"}})
