"""Every environment variable of our own that the evaluator reads or sets, one constant each.

As ``opentelemetry.sdk.environment_variables``: the constant's name is the variable's name, its docstring
says what it does. The admin key is the SDK's own ``JUDGMENT_API_KEY`` (one name for both sides, defined in
:mod:`judgeval.environment_variables`); standard ``OTEL_*`` variables are imported from OpenTelemetry. No
other module of the package spells a ``JUDGMENT_``/``JUDGEVAL_`` name
(``tests/test_environment_variables.py`` pins it). Settings resolve flag > environment > YAML > default
(see :func:`evaluator_service.config.load_config`).
"""

from __future__ import annotations

from typing import Final

# --- the evaluator's settings ------------------------------------------------------------------------

JUDGEVAL_EVALUATOR_LISTEN: Final = "JUDGEVAL_EVALUATOR_LISTEN"
"""``host:port`` the evaluator's gRPC server listens on (OTLP, health, admin); default ``127.0.0.1:4320``."""

JUDGEVAL_EVALUATOR_EXPORT_ENDPOINT: Final = "JUDGEVAL_EVALUATOR_EXPORT_ENDPOINT"
"""``host:port`` (``http://`` accepted) of the OTLP/gRPC receiver that gets enriched and forwarded spans."""

JUDGEVAL_EVALUATOR_DATA_DIR: Final = "JUDGEVAL_EVALUATOR_DATA_DIR"
"""Directory of the durable queue (SQLite), the default state database and the uploaded-scorer cache."""

JUDGEVAL_EVALUATOR_CONFIG: Final = "JUDGEVAL_EVALUATOR_CONFIG"
"""Path of the YAML configuration file."""

JUDGEVAL_EVALUATOR_OTLP_TOKEN: Final = "JUDGEVAL_EVALUATOR_OTLP_TOKEN"
"""Bearer token OTLP exports must carry (``authorization: Bearer <token>``, what the collector's
``bearertokenauth`` extension sends); wins over YAML ``ingress.bearer_token``. Unset: no token required."""

JUDGEVAL_EVALUATOR_STATE_DB: Final = "JUDGEVAL_EVALUATOR_STATE_DB"
"""URL of the database replicas share (paused and uploaded scorers): ``sqlite:///PATH`` (default
``sqlite:///<data_dir>/state.sqlite3``) or ``postgresql://USER:PASSWORD@HOST:PORT/DATABASE``."""

# --- variables the collector YAMLs in collector-config/ read (set by the local stack runner) ------------

JUDGEVAL_COLLECTOR_GRPC_ENDPOINT: Final = "JUDGEVAL_COLLECTOR_GRPC_ENDPOINT"
"""``host:port`` of the collector's OTLP/gRPC receiver."""

JUDGEVAL_COLLECTOR_HTTP_ENDPOINT: Final = "JUDGEVAL_COLLECTOR_HTTP_ENDPOINT"
"""``host:port`` of the collector's OTLP/HTTP receiver."""

JUDGEVAL_COLLECTOR_HEALTH_ENDPOINT: Final = "JUDGEVAL_COLLECTOR_HEALTH_ENDPOINT"
"""``host:port`` of the collector's health-check extension."""

JUDGEVAL_COLLECTOR_STORAGE_DIR: Final = "JUDGEVAL_COLLECTOR_STORAGE_DIR"
"""Directory of the collector's persistent sending queues."""

JUDGEVAL_COLLECTOR_PROMETHEUS_ENDPOINT: Final = "JUDGEVAL_COLLECTOR_PROMETHEUS_ENDPOINT"
"""``host:port`` where the collector serves metrics for Prometheus to scrape (default ``localhost:8889``)."""

JUDGEVAL_METRICS_EXPORTERS: Final = "JUDGEVAL_METRICS_EXPORTERS"
"""YAML list of the collector's metrics exporters: ``[prometheus]`` (default) or
``[prometheus, prometheus_remote_write]`` to also push to :data:`JUDGEVAL_PROMETHEUS_REMOTE_WRITE_URL`."""

JUDGEVAL_PROMETHEUS_REMOTE_WRITE_URL: Final = "JUDGEVAL_PROMETHEUS_REMOTE_WRITE_URL"
"""Prometheus remote-write URL of the optional ``prometheus_remote_write`` exporter."""

JUDGEVAL_EVALUATOR_ENDPOINT: Final = "JUDGEVAL_EVALUATOR_ENDPOINT"
"""``host:port`` of the one evaluator the collector routes tagged spans to."""

JUDGEVAL_EVALUATOR_CA_FILE: Final = "JUDGEVAL_EVALUATOR_CA_FILE"
"""CA file the collector verifies the evaluator's TLS certificate with (``secure-evaluator.yaml``)."""

JUDGEVAL_COLLECTOR_CLIENT_CERT_FILE: Final = "JUDGEVAL_COLLECTOR_CLIENT_CERT_FILE"
"""The collector's client certificate for an evaluator requiring mutual TLS (``secure-evaluator.yaml``)."""

JUDGEVAL_COLLECTOR_CLIENT_KEY_FILE: Final = "JUDGEVAL_COLLECTOR_CLIENT_KEY_FILE"
"""The key of ``JUDGEVAL_COLLECTOR_CLIENT_CERT_FILE``."""

JUDGEVAL_BACKEND_ENDPOINT: Final = "JUDGEVAL_BACKEND_ENDPOINT"
"""``host:port`` of the trace backend (Jaeger, Tempo) the collector exports to."""

JUDGEVAL_CANDIDATE_CONDITION: Final = "JUDGEVAL_CANDIDATE_CONDITION"
"""An extra OTTL span condition: untagged spans matching it are rule candidates the collector sends to the
evaluator, besides those carrying a GenAI/OpenInference/OpenLLMetry key (default ``false``)."""

JUDGEVAL_TRAJECTORY_CONDITION: Final = "JUDGEVAL_TRAJECTORY_CONDITION"
"""Collector configs: an extra OTTL span condition whose matching spans are copied to the evaluator's
trajectory feed (default ``false``: only spans with the ``judgeval=t`` tracestate or the requests
attribute)."""


# --- the web console (evaluator_service.console) -------------------------------------------------------

JUDGEVAL_CONSOLE_LISTEN: Final = "JUDGEVAL_CONSOLE_LISTEN"
"""``host:port`` the web console listens on; wins over YAML ``console.listen``. Unset: the console is off."""

JUDGEVAL_CONSOLE_READ_KEY: Final = "JUDGEVAL_CONSOLE_READ_KEY"
"""A read-only key for the web console (sees every page, changes nothing); wins over YAML
``console.read_only_key``. The admin key (``JUDGMENT_API_KEY``) also logs in, with write access."""
