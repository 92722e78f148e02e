"""Real Jaeger and collector instances on free ports, as context managers.

``start_jaeger`` runs Jaeger v2 with ``collector-config/jaeger-local.yaml``; ``start_collector`` runs the
collector distribution with one of the ``collector-config/otelcol-*.yaml`` files. Each yields a small
record of its endpoints. They are plain context managers so pytest fixtures and end-to-end suites can
compose them (collector in front of Jaeger, evaluator in between).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from evaluator_service import environment_variables
from tools.localstack.jaeger_query import JaegerQuery
from tools.localstack.procs import (
    JAEGER_LOCAL_CONFIG,
    OTELCOL_JAEGER_CONFIG,
    RunningProcess,
    endpoint_preferring,
    free_endpoint,
    run_binary_on_free_ports,
)


@dataclass(frozen=True)
class JaegerInstance:
    """A running Jaeger: where to send OTLP and how to query what it stored."""

    otlp_grpc_endpoint: str
    otlp_http_endpoint: str
    query_url: str
    process: RunningProcess
    query_grpc_endpoint: str = ""
    """``host:port`` of the query gRPC API (``jaeger.api_v3.QueryService``)."""

    @property
    def query(self) -> JaegerQuery:
        """Client for the HTTP API v3 of this instance."""
        return JaegerQuery(self.query_url)


@dataclass(frozen=True)
class CollectorInstance:
    """A running collector: its OTLP endpoints (agents and the evaluator both send here)."""

    grpc_endpoint: str
    http_endpoint: str
    env: Mapping[str, str]
    process: RunningProcess

    @property
    def prometheus_url(self) -> str:
        """Where the collector's Prometheus exporter serves the metrics it received."""
        return f"http://{self.env[environment_variables.JUDGEVAL_COLLECTOR_PROMETHEUS_ENDPOINT]}/metrics"


def jaeger_env(ui_port: int | None = None) -> dict[str, str]:
    """Endpoints for everything ``jaeger-local.yaml`` reads from the environment: free ports, except the
    UI on ``ui_port`` when that one is free (see :func:`endpoint_preferring`)."""
    return {
        "JAEGER_OTLP_GRPC_ENDPOINT": free_endpoint(),
        "JAEGER_OTLP_HTTP_ENDPOINT": free_endpoint(),
        "JAEGER_QUERY_HTTP_ENDPOINT": endpoint_preferring(ui_port),
        "JAEGER_QUERY_GRPC_ENDPOINT": free_endpoint(),
        "JAEGER_HEALTH_ENDPOINT": free_endpoint(),
    }


@contextmanager
def start_jaeger(
    jaeger_binary: Path, work_dir: Path, config: Path = JAEGER_LOCAL_CONFIG, ui_port: int | None = None
) -> Iterator[JaegerInstance]:
    """Run Jaeger v2 (in-memory storage) until the block exits; ready when ``/status`` answers 200.

    Every port is a free one, but the UI's is ``ui_port`` when that is free.
    """
    argv = [str(jaeger_binary), f"--config={config}"]
    with run_binary_on_free_ports(
        "jaeger", argv, lambda: jaeger_env(ui_port), work_dir / "jaeger.log",
        lambda env: f"http://{env['JAEGER_HEALTH_ENDPOINT']}/status",
    ) as (env, process):
        yield JaegerInstance(
            otlp_grpc_endpoint=env["JAEGER_OTLP_GRPC_ENDPOINT"],
            otlp_http_endpoint=env["JAEGER_OTLP_HTTP_ENDPOINT"],
            query_url=f"http://{env['JAEGER_QUERY_HTTP_ENDPOINT']}",
            process=process,
            query_grpc_endpoint=env["JAEGER_QUERY_GRPC_ENDPOINT"],
        )


def collector_env(
    work_dir: Path, evaluator_endpoint: str, backend_endpoint: str, *,
    grpc_port: int | None = None, http_port: int | None = None, **extra: str,
) -> dict[str, str]:
    """Environment for ``otelcol-*.yaml``: free ports, a storage dir under ``work_dir``, the two targets.

    The OTLP receiver takes ``grpc_port``/``http_port`` when they are free (see
    :func:`endpoint_preferring`). ``extra`` adds or overrides variables (e.g.
    ``JUDGEVAL_EVALUATOR_ENDPOINTS`` for the load-balanced config).
    """
    storage_dir = work_dir / "collector-queues"
    storage_dir.mkdir(parents=True, exist_ok=True)
    return {
        environment_variables.JUDGEVAL_COLLECTOR_GRPC_ENDPOINT: endpoint_preferring(grpc_port),
        environment_variables.JUDGEVAL_COLLECTOR_HTTP_ENDPOINT: endpoint_preferring(http_port),
        environment_variables.JUDGEVAL_COLLECTOR_HEALTH_ENDPOINT: free_endpoint(),
        environment_variables.JUDGEVAL_COLLECTOR_PROMETHEUS_ENDPOINT: free_endpoint(),
        environment_variables.JUDGEVAL_COLLECTOR_STORAGE_DIR: str(storage_dir),
        environment_variables.JUDGEVAL_EVALUATOR_ENDPOINT: evaluator_endpoint,
        environment_variables.JUDGEVAL_BACKEND_ENDPOINT: backend_endpoint,
        **extra,
    }


@contextmanager
def start_collector(
    otelcol_binary: Path,
    work_dir: Path,
    evaluator_endpoint: str,
    backend_endpoint: str,
    config: Path = OTELCOL_JAEGER_CONFIG,
    *,
    grpc_port: int | None = None,
    http_port: int | None = None,
    **extra_env: str,
) -> Iterator[CollectorInstance]:
    """Run the collector with ``config`` until the block exits; ready when health_check answers 200.

    Every port is a free one, but the OTLP receiver's are ``grpc_port``/``http_port`` when those are free.
    """
    argv = [str(otelcol_binary), f"--config={config}"]
    with run_binary_on_free_ports(
        "otelcol", argv,
        lambda: collector_env(work_dir, evaluator_endpoint, backend_endpoint,
                              grpc_port=grpc_port, http_port=http_port, **extra_env),
        work_dir / "otelcol.log", lambda env: f"http://{env[environment_variables.JUDGEVAL_COLLECTOR_HEALTH_ENDPOINT]}/",
    ) as (env, process):
        yield CollectorInstance(
            grpc_endpoint=env[environment_variables.JUDGEVAL_COLLECTOR_GRPC_ENDPOINT],
            http_endpoint=env[environment_variables.JUDGEVAL_COLLECTOR_HTTP_ENDPOINT],
            env=env,
            process=process,
        )
