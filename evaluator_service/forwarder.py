"""Re-export of queued spans to the downstream OTLP/gRPC receiver, with retry and backoff.

The forwarder reads spans that are ready (forwarded, marked ``not_selected``, or already enriched) from the
durable queue in batches of up to ``export.batch_size`` spans (two in flight, so reading the next batch
overlaps the downstream's answer), regroups them under their original resource and scope as bytes (spans are
never re-parsed; packed rows are copied in as they are), sends a batch as requests of at most
``export.max_request_bytes`` (see :mod:`evaluator_service.request_limits`: a larger span is exported
trimmed, one that cannot fit at all is dropped and counted), and deletes the batch from the queue only
after the downstream answered OK to all of them. Delivery is therefore at-least-once: if the process dies
between the downstream's OK and the delete, those spans are sent again after restart. In normal
operation every span is sent exactly once.

A ``RESOURCE_EXHAUSTED`` that names the downstream's own limit (gRPC's "larger than max (N vs. M)") lowers
the request limit to it for the rest of the run, and the refused request is split again and sent at once.
Every other failure is retried forever with capped exponential backoff and jitter, so an outage only delays
spans — including the answers of a misconfigured downstream (UNAUTHENTICATED, PERMISSION_DENIED,
UNIMPLEMENTED, ...), which the OTLP specification calls permanent but which an operator fixes without
expecting the spans queued meanwhile to be gone. The one exception is INVALID_ARGUMENT: the downstream
says this batch itself can never be taken, so it is logged, counted as dropped and removed, and one
poisoned batch cannot block the queue. A full data directory never stops forwarding: deleting delivered
spans waits for space (see :mod:`evaluator_service.queue`), and a batch whose bookkeeping failed stays
queued and is read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections import deque
from collections.abc import Sequence

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.config_sections import ExportConfig
from evaluator_service.metrics import EvaluatorMetrics
from evaluator_service.queue import QueuedSpan, SpanQueue
from evaluator_service.request_limits import learned_limit, plan_requests

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_BATCH_BYTES = 16 * 1024 * 1024
"""The most row bytes read from the queue for one delivery (sent as several requests if need be)."""

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

MAX_IN_FLIGHT = 2
"""Batches sent at once: the next one is read and sent while the downstream answers the previous one."""

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
        if row.packed:  # the bytes of a ScopeSpans holding only spans: merging appends them
            scope_spans.MergeFromString(row.span)
        else:
            scope_spans.spans.append(Span.FromString(row.span))
    return request


def encode_request(rows: Sequence[QueuedSpan]) -> bytes:
    """:func:`build_request` serialized, built from the stored bytes without parsing a single span.

    Protobuf lets a message's fields come in any order and concatenates repeated fields, so a
    ``ScopeSpans`` is its stored envelope followed by one ``spans`` field per span, and likewise a
    ``ResourceSpans`` its envelope followed by its ``scope_spans``; a packed row already is such a run of
    ``spans`` fields. Groups keep first-arrival order.
    """
    groups: dict[bytes, dict[bytes, list[QueuedSpan]]] = {}
    for row in rows:
        groups.setdefault(row.resource, {}).setdefault(row.scope, []).append(row)
    parts: list[bytes] = []  # joined once at the end: packed rows are large, copy them once
    for resource, scopes in groups.items():
        body: list[bytes] = [resource]
        for scope, scope_rows in scopes.items():
            scope_spans = [scope]
            for row in scope_rows:
                if not row.packed:
                    scope_spans += (_SPANS_TAG, _varint(len(row.span)))
                scope_spans.append(row.span)
            body += (_SCOPE_SPANS_TAG, _varint(sum(map(len, scope_spans))), *scope_spans)
        parts += (_RESOURCE_SPANS_TAG, _varint(sum(map(len, body))), *body)
    return b"".join(parts)


# Wire tags (field number << 3 | length-delimited): ExportTraceServiceRequest.resource_spans = 1,
# ResourceSpans.scope_spans = 2, ScopeSpans.spans = 2.
_RESOURCE_SPANS_TAG = b"\x0a"
_SCOPE_SPANS_TAG = b"\x12"
_SPANS_TAG = b"\x12"


def _varint(value: int) -> bytes:
    """A length as a protobuf varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class SpanForwarder:
    """Drains the export side of the queue to the downstream; :meth:`wake` after new spans are ready."""

    def __init__(
        self, store: SpanQueue, endpoint: str, config: ExportConfig, metrics: EvaluatorMetrics
    ) -> None:
        self._store = store
        self._config = config
        self._metrics = metrics
        options = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
        self._channel = grpc.aio.insecure_channel(endpoint, options=options)
        # Requests go out as bytes made by encode_request: forwarding never re-parses a span.
        self._export_call = self._channel.unary_unary(
            EXPORT_METHOD, request_serializer=None,
            response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString,
        )
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self.max_request_bytes = config.max_request_bytes
        """The request limit in force: the configured one, or the smaller one the downstream named."""

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
        sending: dict[asyncio.Task[bool], frozenset[int]] = {}
        try:
            while True:
                self._wakeup.clear()
                if len(sending) < MAX_IN_FLIGHT and not self._failing:
                    try:
                        rows = await self._next_batch(frozenset().union(*sending.values()))
                    except sqlite3.Error:  # the queue file is unreadable for now: retry, never give up
                        logger.exception("reading spans to forward failed; retrying")
                        await _wait(self._stopping, 1.0)
                        continue
                    if rows:
                        task = asyncio.create_task(self._deliver(rows), name="judgeval-forward")
                        sending[task] = frozenset(row.id for row in rows)
                        continue
                if not sending:
                    if self._stopping.is_set():
                        return
                    await _wait(self._wakeup, 1.0)
                    continue
                waker = asyncio.create_task(self._wakeup.wait())
                done, _ = await asyncio.wait([*sending, waker], timeout=1.0,
                                             return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
                for task in done - {waker}:
                    del sending[task]
                    if task.exception() is not None:  # its rows stay queued and are read again
                        logger.error("forwarding a batch failed; it stays queued", exc_info=task.exception())
                        continue
                    if not task.result():  # stopped while retrying: what is left stays queued
                        await asyncio.gather(*sending, return_exceptions=True)
                        return
        finally:
            for task in sending:
                task.cancel()

    async def _next_batch(self, in_flight: frozenset[int]) -> list[QueuedSpan]:
        """The oldest ready rows not already being sent."""
        return _cap_bytes(await self._store.pending_export(self._config.batch_size, in_flight))

    async def _deliver(self, rows: Sequence[QueuedSpan]) -> bool:
        """Send ``rows`` as requests within the limit, each until acknowledged or refused for good, then
        forget the rows; ``False`` when stopped while retrying (the rows stay queued)."""
        requests = deque(self._plan(rows))
        attempt = 0
        while requests:
            parts = requests[0]
            request = encode_request(parts)
            spans = sum(part.count for part in parts)
            code, detail = await self._export(request)
            if code is None or code in UNDELIVERABLE_CODES:
                if code is not None:
                    logger.error("downstream permanently refused %d spans (%s: %s); dropping them",
                                 spans, code.name, detail)
                    self._metrics.dropped(spans, code.name)
                else:
                    self._metrics.forwarded(spans)
                self._failing = False
                requests.popleft()
                attempt = 0
                continue
            exhausted = code is grpc.StatusCode.RESOURCE_EXHAUSTED
            limit = learned_limit(detail, len(request)) if exhausted else None
            if limit is not None:
                logger.warning("downstream refused a %d-byte request (%s); sending requests of at most %d "
                               "bytes from now on", len(request), detail, limit)
                self.max_request_bytes = min(self.max_request_bytes, limit)
                requests.popleft()
                requests.extendleft(reversed(self._plan(parts)))
                continue
            if self._stopping.is_set():
                return False
            self._failing = True  # no second batch while the downstream is failing
            delay = self._backoff(attempt)
            logger.warning("downstream export failed (%s: %s); retrying in %.1fs", code.name, detail, delay)
            await _wait(self._stopping, delay)
            attempt += 1
        await self._store.delete([row.id for row in rows])
        return True

    def _plan(self, rows: Sequence[QueuedSpan]) -> list[list[QueuedSpan]]:
        """``rows`` as requests within the limit; trimmed and dropped spans are counted as dead letters."""
        plan = plan_requests(rows, self.max_request_bytes)
        if plan.trimmed:
            self._metrics.dead_lettered("export", "trimmed", plan.trimmed)
        if plan.dropped:
            self._metrics.dead_lettered("export", "dropped", plan.dropped)
        return plan.requests

    async def _export(self, request: bytes) -> tuple[grpc.StatusCode | None, str]:
        try:
            response = await self._export_call(request, timeout=self._config.timeout_s)
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
