"""An in-process OTLP/gRPC metrics receiver on a free port: where an evaluator's own metrics go in a test."""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc


class OtlpMetricsReceiver(metrics_service_pb2_grpc.MetricsServiceServicer):
    """Keeps the latest value of every monotonic sum it was sent (cumulative, summed over its points)."""

    def __init__(self) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(self, self._server)
        self.endpoint = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._lock = threading.Lock()
        self._sums: list[dict[str, float]] = []

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        snapshot: dict[str, float] = {}
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.HasField("sum"):
                        points = metric.sum.data_points
                        snapshot[metric.name] = sum(p.as_int or p.as_double for p in points)
        with self._lock:
            self._sums.append(snapshot)
        return metrics_service_pb2.ExportMetricsServiceResponse()

    def snapshots(self) -> list[dict[str, float]]:
        """Every export so far, oldest first, as {counter name: its cumulative value}."""
        with self._lock:
            return list(self._sums)

    def __enter__(self) -> OtlpMetricsReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
