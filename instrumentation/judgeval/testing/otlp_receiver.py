"""A real OTLP/gRPC trace receiver that keeps what it receives, for tests and local runs.

It is a genuine ``opentelemetry.proto.collector.trace.v1.TraceService`` server on ``127.0.0.1`` (port 0 by
default), so exporters, the evaluator and the collector talk to it exactly as they would to a backend.
Received spans are flattened into :class:`ReceivedSpan` records for assertions. A receiver can be told to
answer ``UNAVAILABLE`` (or any other status) to simulate an outage or a misconfigured backend; it counts
the exports it refused, so a test can wait for a sender's retries instead of sleeping. It also serves the
OTLP ``LogsService`` and keeps the log records it receives (:attr:`OtlpTraceReceiver.log_records`), as a
collector's logs pipeline would accept them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from judgeval.protocol.otlp_values import attributes_dict


@dataclass
class ReceivedSpan:
    """One received span, flattened for assertions."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""
    proto: Span | None = None


def flatten(request: trace_service_pb2.ExportTraceServiceRequest) -> list[ReceivedSpan]:
    """Flatten an export request into :class:`ReceivedSpan` records."""
    out: list[ReceivedSpan] = []
    for rs in request.resource_spans:
        resource = attributes_dict(rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                out.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        attributes=attributes_dict(span.attributes),
                        resource=resource,
                        scope=ss.scope.name,
                        events=[(e.name, attributes_dict(e.attributes)) for e in span.events],
                        links=[(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                        status_code=span.status.code,
                        status_message=span.status.message,
                        proto=span,
                    )
                )
    return out


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpTraceReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        refusal = self._receiver.refuse_with
        if refusal is not None:
            self._receiver._count_refusal()
            context.abort(refusal, f"receiver is simulating a failure ({refusal.name})")
        self._receiver._add(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _LogsServicer(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, receiver: OtlpTraceReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._receiver._add_logs(request)
        return logs_service_pb2.ExportLogsServiceResponse()


class OtlpTraceReceiver:
    """In-process OTLP/gRPC trace receiver; a context manager."""

    def __init__(self, port: int = 0, max_message_bytes: int = 64 * 1024 * 1024) -> None:
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), self._server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), self._server)
        self.log_requests: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.refuse_with: grpc.StatusCode | None = None
        """Answer every export with this status instead of accepting it (``None``: accept)."""
        self.refused_exports = 0
        """How many exports were answered with ``refuse_with`` so far (a sender's attempts and retries)."""
        self._cond = threading.Condition()

    @property
    def endpoint(self) -> str:
        """``host:port`` for gRPC clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> OtlpTraceReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def __enter__(self) -> OtlpTraceReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _count_refusal(self) -> None:
        with self._cond:
            self.refused_exports += 1
            self._cond.notify_all()

    def _add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self._cond:
            self.requests.append(request)
            self._cond.notify_all()

    def _add_logs(self, request: logs_service_pb2.ExportLogsServiceRequest) -> None:
        with self._cond:
            self.log_requests.append(request)
            self._cond.notify_all()

    @property
    def log_records(self) -> list[tuple[dict[str, Any], LogRecord]]:
        """Every received log record with its resource's attributes, in arrival order."""
        with self._cond:
            requests = list(self.log_requests)
        return [
            (attributes_dict(rl.resource.attributes), record)
            for r in requests for rl in r.resource_logs for sl in rl.scope_logs for record in sl.log_records
        ]

    @property
    def unavailable(self) -> bool:
        """Simulate an outage: every export is answered ``UNAVAILABLE``."""
        return self.refuse_with == grpc.StatusCode.UNAVAILABLE

    @unavailable.setter
    def unavailable(self, value: bool) -> None:
        self.refuse_with = grpc.StatusCode.UNAVAILABLE if value else None

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._cond:
            requests = list(self.requests)
        return [s for r in requests for s in flatten(r)]

    def clear(self) -> None:
        with self._cond:
            self.requests.clear()

    def wait_for(
        self, predicate: Callable[[list[ReceivedSpan]], bool], timeout: float = 15.0
    ) -> list[ReceivedSpan]:
        """Wait until ``predicate(spans)`` holds; returns the spans, raises ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans
            if predicate(spans):
                return spans
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                names = sorted({s.name for s in spans})
                raise TimeoutError(f"condition not met in {timeout}s; received {len(spans)} spans: {names}")
            with self._cond:
                self._cond.wait(min(remaining, 0.2))


__all__ = ["OtlpTraceReceiver", "ReceivedSpan", "flatten"]
