"""Re-export of queued spans to the downstream OTLP/gRPC receiver, with retry and backoff.

The forwarder reads spans that are ready (forwarded untouched or already enriched) from the durable
queue in batches, regroups them under their original resource and scope, and deletes them from the
queue only after the downstream answered OK. Delivery is therefore at-least-once: if the process dies
between the downstream's OK and the delete, those spans are sent again after restart. In normal
operation every span is sent exactly once.

Every failure is retried forever with capped exponential backoff and jitter, so an outage only delays
spans — including the answers of a misconfigured downstream (UNAUTHENTICATED, PERMISSION_DENIED,
UNIMPLEMENTED, ...), which the OTLP specification calls permanent but which an operator fixes without
expecting the spans queued meanwhile to be gone. The one exception is INVALID_ARGUMENT: the downstream
says this batch itself can never be taken, so it is logged, counted as dropped and removed, and one
poisoned batch cannot block the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.config import ExportConfig
from evaluator_service.store import QueuedSpan, SpanStore
from evaluator_service.telemetry import EvaluatorMetrics

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_BATCH_BYTES = 16 * 1024 * 1024
"""Keeps one re-export request well under the downstream's message limit, whatever the batch size."""

UNDELIVERABLE_CODES = frozenset({grpc.StatusCode.INVALID_ARGUMENT})
"""Downstream answers that mean "this batch, never": the batch is dropped (logged and counted)."""


def build_request(rows: Sequence[QueuedSpan]) -> trace_service_pb2.ExportTraceServiceRequest:
    """Regroup queued spans under their original resource and scope, keeping arrival order."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    resources: dict[bytes, ResourceSpans] = {}
    scopes: dict[tuple[bytes, bytes], ScopeSpans] = {}
    for row in rows:
        resource_spans = resources.get(row.resource)
        if resource_spans is None:
            resource_spans = request.resource_spans.add()
            resource_spans.MergeFromString(row.resource)
            resources[row.resource] = resource_spans
        scope_spans = scopes.get((row.resource, row.scope))
        if scope_spans is None:
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.MergeFromString(row.scope)
            scopes[(row.resource, row.scope)] = scope_spans
        scope_spans.spans.append(Span.FromString(row.span))
    return request


class SpanForwarder:
    """Drains the export side of the queue to the downstream; :meth:`wake` after new spans are ready."""

    def __init__(
        self, store: SpanStore, endpoint: str, config: ExportConfig, metrics: EvaluatorMetrics
    ) -> None:
        self._store = store
        self._config = config
        self._metrics = metrics
        options = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
        self._channel = grpc.aio.insecure_channel(endpoint, options=options)
        self._stub = trace_service_pb2_grpc.TraceServiceStub(self._channel)
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="judgeval-forwarder")

    def wake(self) -> None:
        self._wakeup.set()

    async def stop(self, flush_timeout: float) -> None:
        """Send what is ready within ``flush_timeout`` seconds; anything left stays queued."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, flush_timeout)
            except TimeoutError:
                logger.warning("downstream did not take every span before shutdown; they stay queued")
        await self._channel.close()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            rows = _cap_bytes(await self._store.pending_export(self._config.batch_size))
            if rows:
                if not await self._deliver(rows):
                    return
                continue
            if self._stopping.is_set():
                return
            await _wait(self._wakeup, 1.0)

    async def _deliver(self, rows: Sequence[QueuedSpan]) -> bool:
        """Send until acknowledged or refused for good; ``False`` when stopped while retrying."""
        request = build_request(rows)
        attempt = 0
        while True:
            code, detail = await self._export(request)
            if code is None or code in UNDELIVERABLE_CODES:
                if code is not None:
                    logger.error("downstream permanently refused %d spans (%s: %s); dropping them",
                                 len(rows), code.name, detail)
                    self._metrics.dropped(len(rows), code.name)
                else:
                    self._metrics.forwarded(len(rows))
                await self._store.delete([row.id for row in rows])
                return True
            if self._stopping.is_set():
                return False
            delay = self._backoff(attempt)
            logger.warning("downstream export failed (%s: %s); retrying in %.1fs", code.name, detail, delay)
            await _wait(self._stopping, delay)
            attempt += 1

    async def _export(
        self, request: trace_service_pb2.ExportTraceServiceRequest
    ) -> tuple[grpc.StatusCode | None, str]:
        try:
            response = await self._stub.Export(request, timeout=self._config.timeout_s)
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details() or ""
        if response.partial_success.rejected_spans:
            logger.warning("downstream rejected %d spans: %s", response.partial_success.rejected_spans,
                           response.partial_success.error_message)
        return None, ""

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._config.backoff_max_s, self._config.backoff_initial_s * 2 ** min(attempt, 30))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _cap_bytes(rows: list[QueuedSpan]) -> list[QueuedSpan]:
    total = 0
    for index, row in enumerate(rows):
        total += len(row.span) + len(row.resource) + len(row.scope)
        if total > MAX_BATCH_BYTES and index > 0:
            return rows[:index]
    return rows


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
