"""Which exporters the provider judgeval creates gets, from the standard environment variables.

``OTEL_TRACES_EXPORTER`` (comma-separated, default ``otlp``) keeps its OpenTelemetry meaning: ``otlp`` is
OTLP over the protocol ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`` names (gRPC by default, through the stock
exporter with judgeval's wire encoder), ``none`` exports nothing, and any other name is looked up in the
``opentelemetry_traces_exporter`` entry points like the SDK's own configurator does (``console``,
``otlp_proto_http``, ``zipkin_json`` when installed, ...). An unknown name is reported and skipped.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points

from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
)
from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger("judgeval")

HTTP_PROTOBUF = "http/protobuf"
GRPC = "grpc"
_PROTOCOL_VARIABLES = (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL)
_EXPORTER_GROUP = "opentelemetry_traces_exporter"


def otlp_protocol() -> str:
    """The OTLP protocol chosen by the standard environment variables (traces-specific first)."""
    for variable in _PROTOCOL_VARIABLES:
        value = os.environ.get(variable, "").strip().lower()
        if value:
            if value not in (GRPC, HTTP_PROTOBUF):
                logger.warning("%s=%r is not supported by judgeval; using %s", variable, value, GRPC)
                return GRPC
            return value
    return GRPC


def create_exporter() -> SpanExporter:
    """An OTLP span exporter for the configured protocol; it reads endpoint/headers/timeout itself.

    gRPC (the default) gets judgeval's faster wire encoder (:mod:`judgeval.tracer._wire_exporter`); the
    stock OTLP/HTTP exporter has no hook for it and encodes as usual.
    """
    if otlp_protocol() == HTTP_PROTOBUF:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter()
    from judgeval.tracer._wire_exporter import WireOtlpSpanExporter, stock_exporter_has_translation_hook

    if stock_exporter_has_translation_hook():
        return WireOtlpSpanExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

    return GrpcExporter()


def configured_exporters() -> list[SpanExporter]:
    """The exporters ``OTEL_TRACES_EXPORTER`` names (``[]`` for ``none``), OTLP when it is unset."""
    names = [n.strip() for n in os.environ.get(OTEL_TRACES_EXPORTER, "").split(",") if n.strip()]
    exporters: list[SpanExporter] = []
    for name in names or ["otlp"]:
        if name == "none":
            continue
        exporter = create_exporter() if name == "otlp" else _exporter_from_entry_point(name)
        if exporter is not None:
            exporters.append(exporter)
    return exporters


def _exporter_from_entry_point(name: str) -> SpanExporter | None:
    found = entry_points(group=_EXPORTER_GROUP, name=name)
    if not found:
        installed = sorted({"none", "otlp", *(e.name for e in entry_points(group=_EXPORTER_GROUP))})
        logger.warning("%s names %r, which is not an installed span exporter (installed: %s); skipped",
                       OTEL_TRACES_EXPORTER, name, ", ".join(installed))
        return None
    try:
        exporter = next(iter(found)).load()()
    except Exception:  # a broken third-party exporter must not stop the app from starting
        logger.exception("judgeval could not create the %r span exporter; skipped", name)
        return None
    return exporter  # type: ignore[no-any-return]
