"""Driving an in-process evaluator: start it, export to it like a collector, wait for what comes out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator_service.app import EvaluatorApp
from tests.support.polling import eventually_async

FAST_RETRIES = {
    "scoring": {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5},
    "export": {"backoff_initial_s": 0.02, "backoff_max_s": 0.1, "timeout_s": 2},
}
"""Retry settings every test config starts from, so outages in tests resolve in milliseconds."""


@asynccontextmanager
async def running(config: Any, **kwargs: Any) -> AsyncIterator[EvaluatorApp]:
    """A started EvaluatorApp, stopped on exit."""
    app = EvaluatorApp(config, **kwargs)
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace=2.0)


async def export(
    app: EvaluatorApp, request: trace_service_pb2.ExportTraceServiceRequest
) -> trace_service_pb2.ExportTraceServiceResponse:
    """Send one OTLP export to the evaluator like a collector would."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        response: trace_service_pb2.ExportTraceServiceResponse = await stub.Export(request, timeout=10)
        return response


async def wait_for(
    receiver: OtlpTraceReceiver, predicate: Callable[[list[ReceivedSpan]], bool], timeout: float = 20.0
) -> list[ReceivedSpan]:
    """Wait, off the event loop, until the downstream received what ``predicate`` wants."""
    return await asyncio.to_thread(receiver.wait_for, predicate, timeout)


async def wait_drained(app: EvaluatorApp, timeout: float = 20.0) -> None:
    """Wait until every span left the durable queue (the downstream acknowledged it)."""
    await eventually_async(
        lambda: app.store.span_count == 0, lambda: f"{app.store.span_count} spans still queued", timeout
    )


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    """Every data point a metric reader holds, by instrument name."""
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, list[Any]] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out
