"""OTLP/HTTP intake: ``POST /v1/traces`` in protobuf or JSON, beside the gRPC listener (aiohttp).

Requests go through the very path gRPC exports take (:meth:`TraceIntakeServicer.ingest`), so they are
sorted, committed and answered the same way. Status codes follow the OTLP/HTTP specification: 200 with an
``ExportTraceServiceResponse`` (``partial_success`` naming refused spans), 400 for a body that is no
export request, 401 for a missing or wrong bearer token, 413 for a body over 64 MiB (also after gzip),
415 for another content type or encoding, 503 with ``Retry-After`` when the evaluator cannot take the
spans now (full queue or disk, shutting down), which exporters and collectors retry. Error bodies are a
``google.rpc.Status`` in the request's encoding. JSON follows OTLP's JSON mapping: trace and span ids are
hex, enums may be numbers, unknown fields are ignored.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import zlib
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from judgeval import semconv
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from evaluator_service.forwarder import MAX_MESSAGE_BYTES
from evaluator_service.ingress import token_matches
from evaluator_service.intake import IntakeRefused, TraceIntakeServicer
from evaluator_service.listen_address import serve_http

logger = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
RETRY_AFTER_S = 1

_HTTP_STATUS = {
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
}
_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


_REFUSAL_CODES = {401: grpc.StatusCode.UNAUTHENTICATED, 413: grpc.StatusCode.RESOURCE_EXHAUSTED}
"""The ``google.rpc.Status`` code of a refusal's body, by HTTP status (others: ``INVALID_ARGUMENT``), the
code gRPC's intake answers for the same refusal."""


class _Refusal(Exception):
    """An HTTP error answer, raised inside this module only."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OtlpHttpIntake:
    """The OTLP/HTTP server; :meth:`start` binds ``host:port`` (port 0 picks one), :meth:`stop` closes."""

    def __init__(self, intake: TraceIntakeServicer, bearer_token: str | None = None) -> None:
        self._intake = intake
        self._token = bearer_token
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, listen: str, ssl_context: ssl.SSLContext | None = None) -> None:
        app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
        app.router.add_post(TRACES_PATH, self._export)
        # Bodies are decompressed here, with a limit, rather than by aiohttp.
        self._runner = web.AppRunner(app, access_log=None, auto_decompress=False)
        self.port = await serve_http(self._runner, listen, ssl_context)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _export(self, request: web.Request) -> web.Response:
        as_json = request.content_type == JSON
        try:
            authorization = request.headers.get("Authorization")
            if self._token is not None and not token_matches(authorization, self._token):
                raise _Refusal(401, "missing or wrong bearer token for OTLP export")
            export = _decode(request.content_type, await _body(request))
            feed = request.headers.get(semconv.TRAJECTORY_FEED_HEADER) == semconv.TRAJECTORY_FEED_VALUE
            response = await (self._intake.ingest_feed(export) if feed else self._intake.ingest(export))
        except _Refusal as exc:
            code = _REFUSAL_CODES.get(exc.status, grpc.StatusCode.INVALID_ARGUMENT)
            return _error(exc.status, code, str(exc), as_json)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, grpc.StatusCode.RESOURCE_EXHAUSTED,
                          f"request body over {MAX_MESSAGE_BYTES} bytes", as_json)
        except IntakeRefused as exc:
            return _error(_HTTP_STATUS.get(exc.code, 500), exc.code, str(exc), as_json)
        return _encoded(200, response, as_json)


async def _body(request: web.Request) -> bytes:
    body = await request.read()
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding != "gzip":
        raise _Refusal(415, f"Content-Encoding {encoding!r} not supported (use gzip or none)")
    inflate = zlib.decompressobj(wbits=31)
    try:
        data = inflate.decompress(body, MAX_MESSAGE_BYTES)
    except zlib.error as exc:
        raise _Refusal(400, f"body is not valid gzip: {exc}") from None
    if inflate.unconsumed_tail:
        raise _Refusal(413, f"request body over {MAX_MESSAGE_BYTES} bytes once decompressed")
    return data


def _decode(content_type: str, body: bytes) -> trace_service_pb2.ExportTraceServiceRequest:
    export = trace_service_pb2.ExportTraceServiceRequest()
    if content_type == PROTOBUF:
        try:
            export.ParseFromString(body)
        except (DecodeError, RecursionError) as exc:
            raise _Refusal(400, f"body is not an OTLP ExportTraceServiceRequest: {exc}") from None
        return export
    if content_type != JSON:
        raise _Refusal(415, f"Content-Type {content_type!r} not supported (use {PROTOBUF} or {JSON})")
    try:
        document = json.loads(body)
        _ids_to_base64(document)
        json_format.ParseDict(document, export, ignore_unknown_fields=True)
    except (ValueError, RecursionError, json_format.ParseError, TypeError) as exc:
        raise _Refusal(400, f"body is not OTLP JSON: {str(exc)[:300]}") from None
    return export


def _ids_to_base64(document: Any) -> None:
    """OTLP JSON writes ids as hex; protobuf's JSON mapping expects base64 for bytes."""
    if not isinstance(document, dict):
        raise ValueError("top level must be an object")
    for resource_spans in _items(document, "resourceSpans", "resource_spans"):
        for scope_spans in _items(resource_spans, "scopeSpans", "scope_spans"):
            for span in _items(scope_spans, "spans"):
                _convert(span)
                for link in _items(span, "links"):
                    _convert(link)


def _items(parent: Any, *keys: str) -> list[Any]:
    if not isinstance(parent, dict):
        raise ValueError(f"expected an object, got {type(parent).__name__}")
    for key in keys:
        value = parent.get(key)
        if value is not None:
            if not isinstance(value, list):
                raise ValueError(f"{key} must be a list")
            return value
    return []


def _convert(item: Any) -> None:
    if not isinstance(item, dict):
        raise ValueError(f"expected an object, got {type(item).__name__}")
    for key in _ID_KEYS:
        value = item.get(key)
        if isinstance(value, str):
            try:
                item[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise ValueError(f"{key} must be hex, got {value[:40]!r}") from None


def _encoded(status: int, message: Message, as_json: bool) -> web.Response:
    if as_json:
        return web.Response(status=status, content_type=JSON, text=json_format.MessageToJson(message))
    return web.Response(status=status, content_type=PROTOBUF, body=message.SerializeToString())


def _error(status: int, code: grpc.StatusCode, message: str, as_json: bool) -> web.Response:
    response = _encoded(status, status_pb2.Status(code=code.value[0], message=message), as_json)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
