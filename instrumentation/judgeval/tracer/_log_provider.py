"""The OpenTelemetry logger provider trajectory results are emitted through, when judgeval sets one up.

OpenTelemetry is moving evaluation results from span events to log-based events, so each local trace
score is also an OTLP log record (``gen_ai.evaluation.result``). An app that installed an SDK
``LoggerProvider`` globally (or runs under ``opentelemetry-instrument`` with logs on) gets the records
through it. A Tracer that created its own ``TracerProvider`` (the app configured no OpenTelemetry) creates
the matching logger provider, exporting OTLP to the same endpoint over the same protocol, the first time a
local trace scorer needs it, so nothing is set up for apps that never use one. ``OTEL_LOGS_EXPORTER=none``
turns that off.

The logs API and SDK are importable only from ``opentelemetry._logs`` / ``opentelemetry.sdk._logs`` (the
paths the OpenTelemetry docs use); they are still marked in development upstream.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import _logs
from opentelemetry.environment_variables import OTEL_LOGS_EXPORTER
from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.resources import Resource

from judgeval.tracer._exporters import HTTP_PROTOBUF, otlp_protocol

logger = logging.getLogger("judgeval")


def _create_exporter() -> LogRecordExporter:
    if otlp_protocol() == HTTP_PROTOBUF:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

        return HttpLogExporter()
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

    return OTLPLogExporter()


def ensure_logger_provider(resource: Resource) -> SdkLoggerProvider | None:
    """An OTLP-exporting SDK logger provider installed globally, unless the app has one (then ``None``:
    the global one is used as it is) or ``OTEL_LOGS_EXPORTER`` says ``none``."""
    if isinstance(_logs.get_logger_provider(), SdkLoggerProvider):
        return None
    names = {n.strip() for n in os.environ.get(OTEL_LOGS_EXPORTER, "").split(",") if n.strip()}
    if "none" in names:
        return None
    if names - {"otlp"}:
        logger.warning("%s=%s: judgeval exports its evaluation log records over OTLP only",
                       OTEL_LOGS_EXPORTER, ",".join(sorted(names)))
    # Shut down (so flushed) at exit, after the local-scoring threads drained (registered later, run first).
    provider = SdkLoggerProvider(resource=resource)
    provider.add_log_record_processor(BatchLogRecordProcessor(_create_exporter()))
    _logs.set_logger_provider(provider)
    if _logs.get_logger_provider() is not provider:  # another provider won a race to install one
        provider.shutdown()
        return None
    return provider

__all__ = ["SdkLoggerProvider", "ensure_logger_provider"]
