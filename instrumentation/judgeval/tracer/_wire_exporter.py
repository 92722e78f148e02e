"""The OTLP/gRPC exporter of the provider judgeval creates: the stock exporter with the wire encoder.

Everything the stock ``OTLPSpanExporter`` reads from the standard ``OTEL_EXPORTER_OTLP_*`` variables
(endpoint, headers, TLS, compression, timeout) and its retry behaviour stay as they are; only the
translation of a batch into the request message is replaced by :mod:`judgeval.tracer._otlp_wire`, which
costs the export thread (and so the agent, which shares the interpreter lock with it) about a third of
the stock encoder's time per span. Should the encoder ever fail on a batch, that batch is encoded by the
stock code instead, so a judgeval bug can cost speed but never spans.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

from judgeval._internal_errors import internal_errors_reraised, log_internal_error
from judgeval.tracer._otlp_wire import encode_export_request


class WireOtlpSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter`` (gRPC) whose requests are encoded by judgeval's wire encoder."""

    _warned = False

    def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        try:
            return ExportTraceServiceRequest.FromString(encode_export_request(data))
        except Exception:
            first_failure = not WireOtlpSpanExporter._warned
            WireOtlpSpanExporter._warned = True
            if first_failure or internal_errors_reraised():  # logged once in production
                log_internal_error("judgeval's span encoder failed; using the stock OTLP encoder instead")
            return super()._translate_data(data)


def stock_exporter_has_translation_hook() -> bool:
    """Whether the installed exporter still encodes through ``_translate_data`` (it has since 1.0)."""
    return callable(getattr(OTLPSpanExporter, "_translate_data", None))
