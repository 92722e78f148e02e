"""Trajectory results as OTLP log records (event ``gen_ai.evaluation.result``), sent to the downstream.

OpenTelemetry is moving events from the span-event API to log-based events, so every trajectory result is
also one log record: ``event_name`` ``gen_ai.evaluation.result``, the trace id and the result span's id as
its context, the event's attributes plus the result key, revision, scope and evaluator name, the explanation
as its body. The records wait in their own small durable queue, ``<data_dir>/result_logs.sqlite3``, until
the downstream (the same ``export_endpoint`` the spans go to) acknowledged them: written in the sweep before
the trajectory is marked scored, deleted after the downstream's OK, retried with backoff otherwise (a
downstream that does not serve OTLP logs delays them, logged once; ``INVALID_ARGUMENT`` drops the batch with
an error log, as the span forwarder does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import grpc
from judgeval import semconv
from judgeval.protocol.otlp_values import attributes_dict, to_any_value
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from evaluator_service.background_loop import BackgroundLoop
from evaluator_service.config_sections import ExportConfig
from evaluator_service.local_sqlite import LocalSqliteFile
from evaluator_service.trajectories.results import RESULT_INSTRUMENTATION_SCOPE

logger = logging.getLogger(__name__)

DB_FILE_NAME = "result_logs.sqlite3"
BATCH = 256
_COPIED = (
    semconv.JUDGEVAL_TRAJECTORY_RESULT_KEY,
    semconv.JUDGEVAL_TRAJECTORY_REVISION,
    semconv.JUDGEVAL_TRAJECTORY_SCOPE,
    semconv.JUDGEVAL_EVALUATOR_NAME,
    semconv.JUDGEVAL_EVAL_VERDICT,
)


def result_log_record(span: Span) -> LogRecord:
    """The log record of one result span (built by :mod:`evaluator_service.trajectories.results`)."""
    event = next(e for e in span.events if e.name == semconv.GEN_AI_EVALUATION_RESULT_EVENT)
    attributes = attributes_dict(span.attributes)
    record = LogRecord(
        time_unix_nano=event.time_unix_nano,
        observed_time_unix_nano=event.time_unix_nano,
        severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
        severity_text="INFO",
        event_name=semconv.GEN_AI_EVALUATION_RESULT_EVENT,
        trace_id=span.trace_id,
        span_id=span.span_id,
        flags=1,  # sampled: the result span is exported
    )
    record.attributes.extend(event.attributes)
    record.attributes.extend(
        KeyValue(key=k, value=to_any_value(attributes[k])) for k in _COPIED if k in attributes
    )
    explanation = attributes_dict(event.attributes).get(semconv.GEN_AI_EVALUATION_EXPLANATION)
    if explanation:
        record.body.CopyFrom(to_any_value(str(explanation)))
    return record


class ResultLogQueue(LocalSqliteFile):
    """The durable queue of result log records (one row per record with its resource envelope)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "judgeval-result-logs", "result log queue")

    @classmethod
    async def open(cls, data_dir: Path) -> ResultLogQueue:
        queue = cls(data_dir / DB_FILE_NAME)
        await queue._run(queue._open_sync)
        return queue

    def _open_sync(self) -> None:
        conn = self._connect()
        conn.execute(
            "CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, resource BLOB, record BLOB)"
        )
        self._conn = conn

    async def add(self, resource: bytes, records: Sequence[LogRecord]) -> None:
        rows = [(resource, r.SerializeToString()) for r in records]
        await self._run(
            lambda: self._db().executemany("INSERT INTO records (resource, record) VALUES (?, ?)", rows)
        )

    async def pending(self, limit: int = BATCH) -> list[tuple[int, bytes, bytes]]:
        return await self._run(
            lambda: (
                self._db()
                .execute("SELECT id, resource, record FROM records ORDER BY id LIMIT ?", (limit,))
                .fetchall()
            )
        )

    async def delete(self, ids: Sequence[int]) -> None:
        await self._run(
            lambda: self._db().execute(
                f"DELETE FROM records WHERE id IN ({','.join('?' * len(ids))})", tuple(ids)
            )
        )


def logs_request(rows: Sequence[tuple[int, bytes, bytes]]) -> logs_service_pb2.ExportLogsServiceRequest:
    """Rows regrouped under their resources, one scope."""
    by_resource: dict[bytes, list[LogRecord]] = {}
    for _, resource, record in rows:
        by_resource.setdefault(resource, []).append(LogRecord.FromString(record))
    request = logs_service_pb2.ExportLogsServiceRequest()
    for resource, records in by_resource.items():
        envelope = ResourceSpans.FromString(resource) if resource else ResourceSpans()
        request.resource_logs.append(
            ResourceLogs(
                resource=envelope.resource,
                schema_url=envelope.schema_url,
                scope_logs=[ScopeLogs(scope=RESULT_INSTRUMENTATION_SCOPE, log_records=records)],
            )
        )
    return request


class ResultLogForwarder:
    """Sends queued result log records to the downstream's OTLP ``LogsService``, deleting after its OK."""

    def __init__(self, queue: ResultLogQueue, endpoint: str, export: ExportConfig) -> None:
        self._queue = queue
        self._export = export
        self._channel = grpc.aio.insecure_channel(endpoint)
        self._stub = logs_service_pb2_grpc.LogsServiceStub(self._channel)
        self._loop = BackgroundLoop("result-logs", self._forward_forever)
        self.delivered = 0

    def start(self) -> None:
        self._loop.start()

    def wake(self) -> None:
        self._loop.wake()

    async def stop(self) -> None:
        await self._loop.stop()
        await self._channel.close()

    async def _forward_forever(self) -> None:
        delay, warned = self._export.backoff_initial_s, False
        while True:
            rows = await self._queue.pending()
            if not rows:
                await self._loop.wait(5.0)
                continue
            try:
                await self._stub.Export(logs_request(rows), timeout=self._export.timeout_s)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    logger.error(
                        "downstream refused %d result log records for good: %s", len(rows), exc.details()
                    )
                    await self._queue.delete([r[0] for r in rows])
                    continue
                if not warned:
                    logger.warning(
                        "result log records wait for the downstream: %s %s", exc.code(), exc.details()
                    )
                    warned = True
                await asyncio.sleep(delay)
                delay = min(self._export.backoff_max_s, delay * 2)
                continue
            await self._queue.delete([r[0] for r in rows])
            self.delivered += len(rows)
            delay, warned = self._export.backoff_initial_s, False
