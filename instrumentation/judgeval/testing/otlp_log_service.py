"""The OTLP/gRPC logs service of :class:`~judgeval.testing.OtlpTraceReceiver`: keeps the log records it
receives (``gen_ai.evaluation.result`` events, ...) so tests can assert on them, on the same port as traces,
as a collector's OTLP receiver does."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

from judgeval.protocol.otlp_values import attributes_dict


@dataclass
class ReceivedLogRecord:
    """One received log record, flattened for assertions (ids in hex, empty when absent)."""

    event_name: str
    trace_id: str
    span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str


class LogRecordStore(logs_service_pb2_grpc.LogsServiceServicer):
    """Answers OTLP log exports and keeps every record."""

    def __init__(self) -> None:
        self._records: list[ReceivedLogRecord] = []
        self._cond = threading.Condition()

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        received = [
            ReceivedLogRecord(
                event_name=record.event_name,
                trace_id=record.trace_id.hex(),
                span_id=record.span_id.hex(),
                attributes=attributes_dict(record.attributes),
                resource=attributes_dict(resource_logs.resource.attributes),
                scope=scope_logs.scope.name,
            )
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
            for record in scope_logs.log_records
        ]
        with self._cond:
            self._records.extend(received)
            self._cond.notify_all()
        return logs_service_pb2.ExportLogsServiceResponse()

    @property
    def records(self) -> list[ReceivedLogRecord]:
        with self._cond:
            return list(self._records)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[ReceivedLogRecord]:
        """Wait until at least ``count`` records arrived; returns them, raises ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._records) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = len(self._records)
                    raise TimeoutError(f"{got} log records received in {timeout}s, not {count}")
                self._cond.wait(remaining)
            return list(self._records)
