"""Malformed gRPC requests are the client's error: ``INVALID_ARGUMENT`` and one rate-limited log line.

grpcio deserializes a request before any servicer code runs; a body that is not the method's protobuf
message makes it log a full traceback and answer ``UNKNOWN``, which tells the client nothing useful and
lets anyone flood the evaluator's log. :class:`MalformedRequestInterceptor` hands every unary-request method
its raw bytes instead and parses them itself, so a parse failure is answered ``INVALID_ARGUMENT`` naming the
message type, and logged as one line per method at most every :data:`LOG_INTERVAL_S` seconds (saying how
many were refused in between). Every service on the evaluator's server is covered: OTLP intake, health and
the admin API.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from evaluator_service.log_throttle import LogThrottle, peer_host, suppressed_note

logger = logging.getLogger(__name__)

LOG_INTERVAL_S = 10.0
"""At most one log line per method and this many seconds about malformed requests."""

_DETAIL_CHARS = 200


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):
    """Parses unary requests itself so a malformed body is ``INVALID_ARGUMENT``, never ``UNKNOWN``."""

    def __init__(self, log_interval_s: float = LOG_INTERVAL_S) -> None:
        self._throttle = LogThrottle(log_interval_s)
        self._handlers: dict[str, grpc.RpcMethodHandler | None] = {}
        self.refused = 0
        """Malformed requests refused so far."""

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        if method in self._handlers:  # handlers are fixed once the server runs: wrap each method once
            cached = self._handlers[method]
            if cached is not None:
                return cached
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        wrapped = self._wrap(method, handler)
        self._handlers[method] = wrapped
        return wrapped or handler

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler | None:
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return None
        parse = handler.request_deserializer
        if handler.unary_unary is not None:
            unary = handler.unary_unary

            async def unary_behavior(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
                request = await self._parse(method, parse, raw, context)
                return await unary(request, context)

            return grpc.unary_unary_rpc_method_handler(
                unary_behavior, response_serializer=handler.response_serializer)
        if handler.unary_stream is not None:
            streaming = handler.unary_stream

            async def stream_behavior(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                request = await self._parse(method, parse, raw, context)
                result = streaming(request, context)
                if inspect.isasyncgen(result):
                    async for response in result:
                        yield response
                else:  # a coroutine writing with context.write
                    await result

            return grpc.unary_stream_rpc_method_handler(
                stream_behavior, response_serializer=handler.response_serializer)
        return None

    async def _parse(self, method: str, parse: Callable[[bytes], Any], raw: bytes,
                     context: grpc.aio.ServicerContext) -> Any:
        try:
            return parse(raw)
        except Exception as exc:  # protobuf's DecodeError, or whatever a custom deserializer raises
            self.refused += 1
            detail = f"{exc}"[:_DETAIL_CHARS]
            suppressed = self._throttle.admit(method)
            if suppressed is not None:
                logger.warning("refused a malformed %s request from %s: %s%s", method,
                               peer_host(context.peer()), detail, suppressed_note(suppressed))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"request is not a valid {_message_name(parse)} message: {detail}")
            raise  # unreachable: abort raises


def _message_name(parse: Callable[[bytes], Any]) -> str:
    owner = getattr(parse, "__self__", None)
    return getattr(owner, "__name__", None) or "protobuf"
