"""OTLP/HTTP intake beside gRPC: protobuf and JSON on /v1/traces, the same durable path, the status codes
of the OTLP/HTTP specification. Clients are OpenTelemetry's own OTLP/HTTP exporter and aiohttp."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl

import aiohttp
import grpc
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from evaluator_service.config import ConfigError
from tests.support.evaluator import running, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

from .certificates import make_certificates

HTTP = {"ingress": {"http_listen": "127.0.0.1:0"}}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def url(app, scheme: str = "http", host: str = "127.0.0.1") -> str:
    return f"{scheme}://{host}:{app.http_port}/v1/traces"


async def post(app, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.post(url(app), data=body, headers=headers) as r:
        return r.status, await r.read(), dict(r.headers)


def export_with_otel_sdk(endpoint: str, **exporter_args: object) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, **exporter_args)))
    with provider.get_tracer("test").start_as_current_span("over-http"):
        pass
    provider.shutdown()


async def test_protobuf_from_the_otel_exporter_is_queued_scored_and_forwarded(make_config, receiver):
    async with running(make_config(HTTP)) as app:
        assert app.http_port > 0
        await asyncio.to_thread(export_with_otel_sdk, url(app))
        tagged = make_span("tagged", tagged_attributes(("regex", {"actual_output": "ok"}),
                                                       config={"pattern": "ok"}))
        status, body, _ = await post(app, make_request([tagged]).SerializeToString(), PROTOBUF)
        assert status == 200
        assert not trace_service_pb2.ExportTraceServiceResponse.FromString(body).HasField("partial_success")
        received = await wait_for(receiver, lambda s: len(s) == 2)
    scored = next(s for s in received if s.name == "tagged")
    assert scored.attributes["judgeval.eval.status"] == "scored"


async def test_json_with_hex_ids_gzip_and_partial_success(make_config, receiver):
    document = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "json-agent"}}]},
        "scopeSpans": [{"scope": {"name": "s"}, "spans": [
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "json-span",
             "kind": 2, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
             "unknownField": 1},
            {"traceId": "", "spanId": "eee19b7ec3c1b175", "name": "no-trace-id"}]}]}]}
    async with running(make_config(HTTP)) as app:
        body = gzip.compress(json.dumps(document).encode())
        status, answer, headers = await post(
            app, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        partial = json.loads(answer)["partialSuccess"]
        assert partial["rejectedSpans"] == "1" and "trace_id" in partial["errorMessage"]
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert (received[0].name, received[0].trace_id, received[0].span_id) == (
        "json-span", "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    assert received[0].resource["service.name"] == "json-agent"


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"\xff\xff\xff garbage", PROTOBUF, 400),
    (b"{not json", {"Content-Type": "application/json"}, 400),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
     {"Content-Type": "application/json"}, 400),
    (b'{"resourceSpans": 5}', {"Content-Type": "application/json"}, 400),
    (b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}, 400),
    (b"x", {"Content-Type": "text/plain"}, 415),
    (b"x", {**PROTOBUF, "Content-Encoding": "br"}, 415),
    (b"not gzip", {**PROTOBUF, "Content-Encoding": "gzip"}, 400),
    (gzip.compress(b"\0" * (65 * 1024 * 1024)), {**PROTOBUF, "Content-Encoding": "gzip"}, 413),
])
async def test_bad_requests_get_the_specified_status_and_a_status_body(make_config, receiver, body, headers,
                                                                       status):
    async with running(make_config(HTTP)) as app:
        got, answer, _ = await post(app, body, headers)
        assert got == status
        if headers["Content-Type"] == "application/x-protobuf":
            assert status_pb2.Status.FromString(answer).message
        ok, _, _ = await post(app, make_request([make_span("after")]).SerializeToString(), PROTOBUF)
        assert ok == 200  # the server is unharmed
        await wait_for(receiver, lambda s: [x.name for x in s] == ["after"])


async def test_full_queue_answers_503_with_retry_after(make_config, receiver):
    receiver.unavailable = True
    async with running(make_config({**HTTP, "queue": {"max_spans": 2}})) as app:
        first, _, _ = await post(app, make_request([make_span("a"), make_span("b")]).SerializeToString(),
                                 PROTOBUF)
        body = make_request([make_span("c")]).SerializeToString()
        status, answer, headers = await post(app, body, PROTOBUF)
    assert first == 200
    assert status == 503 and headers["Retry-After"] == "1"
    assert "full" in status_pb2.Status.FromString(answer).message


async def test_bearer_token_and_tls_apply_to_http_too(make_config, receiver, tmp_path, monkeypatch):
    # requests lets these variables win over the exporter's own certificate_file (psf/requests#3829)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    certs = make_certificates(tmp_path / "certs")
    doc = {"ingress": {"http_listen": "127.0.0.1:0", "bearer_token": "tok",
                       "tls": {"cert_file": str(certs.server_cert), "key_file": str(certs.server_key)}}}
    async with running(make_config(doc)) as app:
        https = url(app, "https", "localhost")
        await asyncio.to_thread(export_with_otel_sdk, https, certificate_file=str(certs.ca),
                                headers={"Authorization": "Bearer tok"})
        ssl_context = ssl.create_default_context(cafile=str(certs.ca))
        async with aiohttp.ClientSession() as session:
            body = make_request([make_span("no-token")]).SerializeToString()
            async with session.post(https, data=body, headers=PROTOBUF, ssl=ssl_context) as response:
                assert response.status == 401
                refused = status_pb2.Status.FromString(await response.read())
                assert refused.code == grpc.StatusCode.UNAUTHENTICATED.value[0], refused  # as over gRPC
            with pytest.raises(aiohttp.ClientError):  # plaintext to the TLS listener
                async with session.post(url(app, host="localhost"), data=body, headers=PROTOBUF) as r:
                    await r.read()
        received = await wait_for(receiver, lambda s: len(s) == 1)
    assert received[0].name == "over-http"


def test_http_listen_is_validated(make_config):
    with pytest.raises(ConfigError, match=r"ingress\.http_listen: expected HOST:PORT"):
        make_config({"ingress": {"http_listen": "nowhere"}})
