"""Fixtures for evaluator tests: a real downstream OTLP receiver, the evaluator in-process on port 0,
and helpers to build and send OTLP spans with a grpc.aio client."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from judgeval import semconv
from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef, encode_requests
from judgeval.protocol.otlp_values import to_any_value
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from evaluator_service.app import EvaluatorApp
from evaluator_service.config import EvaluatorConfig, load_config

FAST_RETRIES = {
    "scoring": {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5},
    "export": {"backoff_initial_s": 0.02, "backoff_max_s": 0.1, "timeout_s": 2},
}

_counter = iter(range(1, 1_000_000))


@pytest.fixture
def receiver() -> Iterator[OtlpTraceReceiver]:
    with OtlpTraceReceiver() as downstream:
        yield downstream


@pytest.fixture
def make_config(tmp_path: Path, receiver: OtlpTraceReceiver) -> Callable[..., EvaluatorConfig]:
    """Build a config from a YAML mapping (merged over fast retry settings), on port 0 and tmp_path."""

    def build(doc: dict[str, Any] | None = None, data_dir: Path | None = None) -> EvaluatorConfig:
        merged = {**FAST_RETRIES, **(doc or {})}
        path = tmp_path / f"evaluator-{next(_counter)}.yaml"
        path.write_text(yaml.safe_dump(merged), encoding="utf-8")
        return load_config(
            listen="127.0.0.1:0",
            export_endpoint=receiver.endpoint,
            data_dir=str(data_dir or tmp_path / "data"),
            config_file=str(path),
            environ=dict(os.environ),
        )

    return build


@asynccontextmanager
async def running(config: EvaluatorConfig, **kwargs: Any) -> AsyncIterator[EvaluatorApp]:
    """An started EvaluatorApp, stopped on exit."""
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


def make_span(name: str, attributes: dict[str, Any] | None = None, trace_id: bytes | None = None) -> Span:
    """A finished span with fresh ids (or the given trace id)."""
    n = next(_counter)
    span = Span(
        trace_id=trace_id or n.to_bytes(16, "big"),
        span_id=n.to_bytes(8, "big"),
        name=name,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_001_000_000_000,
    )
    for key, value in (attributes or {}).items():
        kv = span.attributes.add()
        kv.key = key
        kv.value.CopyFrom(to_any_value(value))
    return span


def tagged_attributes(
    *requests: tuple[str, dict[str, Any]], threshold: float = 0.5, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Attributes ``async_evaluate`` would set for (scorer name, example) pairs."""
    encoded = encode_requests(
        [
            EvaluationRequest(ScorerRef(name=name, threshold=threshold, config=config or {}), example)
            for name, example in requests
        ]
    )
    return {
        semconv.JUDGEVAL_EVAL_STATUS: semconv.EvalStatus.PENDING.value,
        semconv.JUDGEVAL_EVAL_REQUESTS: encoded,
    }


def make_request(
    spans: list[Span],
    service: str = "agent",
    scope: str = "judgeval",
    resource_extra: dict[str, Any] | None = None,
) -> trace_service_pb2.ExportTraceServiceRequest:
    """One resource, one scope, the given spans."""
    resource = Resource()
    for key, value in {semconv.SERVICE_NAME: service, **(resource_extra or {})}.items():
        kv = resource.attributes.add()
        kv.key = key
        kv.value.CopyFrom(to_any_value(value))
    scope_spans = ScopeSpans(
        scope=InstrumentationScope(name=scope, version="1.0"),
        spans=spans,
        schema_url="https://opentelemetry.io/schemas/1.30.0",
    )
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope_spans], schema_url="res-schema")]
    )


async def wait_for(
    receiver: OtlpTraceReceiver, predicate: Callable[[list[ReceivedSpan]], bool], timeout: float = 20.0
) -> list[ReceivedSpan]:
    """Wait, off the event loop, until the downstream received what ``predicate`` wants."""
    return await asyncio.to_thread(receiver.wait_for, predicate, timeout)


def by_name(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    matches = [s for s in spans if s.name == name]
    assert len(matches) == 1, f"expected one span {name!r}, got {len(matches)}"
    return matches[0]


def names(spans: list[ReceivedSpan]) -> list[str]:
    return sorted(s.name for s in spans)


async def wait_drained(app: EvaluatorApp, timeout: float = 20.0) -> None:
    """Wait until every span left the durable queue (the downstream acknowledged it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while app.store.span_count:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{app.store.span_count} spans still queued after {timeout}s")
        await asyncio.sleep(0.02)
