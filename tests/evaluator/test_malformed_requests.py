"""Malformed gRPC requests (issue 18, defect 8): ``INVALID_ARGUMENT`` and a rate-limited one-line log, never
``UNKNOWN`` with a traceback per request; well-formed calls on the same server keep working."""

from __future__ import annotations

import logging

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.evaluator import export, running, wait_for
from tests.support.spans import make_request, make_span

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
GARBAGE = [b"\xff\xff\xff", b"\x0a\x05\x0a", b"\x08" + b"\xff" * 11, b"\x12\x80\x80\x80\x80\x10"]


async def raw_call(port: int, method: str, body: bytes) -> grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(method)(body, timeout=10)
    return caught.value


async def test_malformed_exports_answer_invalid_argument_with_one_log_line(make_config, receiver, caplog):
    caplog.set_level(logging.INFO)
    async with running(make_config()) as app:
        errors = [await raw_call(app.port, EXPORT, body) for body in GARBAGE * 10]
        await export(app, make_request([make_span("after-garbage")]))
        await wait_for(receiver, lambda spans: any(s.name == "after-garbage" for s in spans))
    assert {e.code() for e in errors} == {grpc.StatusCode.INVALID_ARGUMENT}
    assert all("not a valid ExportTraceServiceRequest message" in (e.details() or "") for e in errors)
    refused = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert 1 <= len(refused) < len(errors), "one line stands for many refused requests"
    assert "127.0.0.1" in refused[0].getMessage() and EXPORT in refused[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_other_services_refuse_malformed_requests_too_and_stay_usable(make_config):
    async with running(make_config()) as app:
        error = await raw_call(app.port, "/grpc.health.v1.Health/Check", b"\xff\xff")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            checked = await stub.Check(health_pb2.HealthCheckRequest(service=""))
            watch = stub.Watch(health_pb2.HealthCheckRequest(service=""))
            watched = await watch.read()
            watch.cancel()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "HealthCheckRequest" in (error.details() or "")
    assert checked.status == watched.status == health_pb2.HealthCheckResponse.SERVING


async def test_unknown_methods_stay_unimplemented(make_config):
    async with running(make_config()) as app:
        error = await raw_call(app.port, "/no.such.Service/Call", b"")
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
