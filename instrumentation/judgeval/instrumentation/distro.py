"""The judgeval distro and configurator for ``opentelemetry-instrument``.

The distro only fills in environment defaults (anything the user set wins): traces over OTLP/gRPC to a
local collector (through the stock exporter with judgeval's faster encoder, unless an exporter is named),
no metrics or logs exporters (the evaluator, when agents export straight to it, takes traces only), and
message content capture on, for our spans and the official GenAI instrumentations alike. When another
distro (``opentelemetry-distro``) runs instead, :mod:`judgeval.instrumentation.setup_check` still turns
content capture on and says in one line what differs. ``service.name`` comes from
``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` as usual.

The configurator is the SDK's standard one, the same pattern ``opentelemetry-distro`` uses: the SDK
documents ``_OTelSDKConfigurator`` as the class distros subclass, so this is the supported way to get the
full ``OTEL_*`` environment behaviour (exporters, samplers, resource detectors) without copying it.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL

from judgeval import environment_variables
from judgeval.tracer._exporters import GRPC, otlp_protocol

CONTENT_DEFAULTS: dict[str, str] = {
    environment_variables.JUDGEVAL_CAPTURE_CONTENT: "true",
    # The GenAI util (official OpenAI instrumentation) takes a mode, not a bool: "true" would mean no content.
    environment_variables.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "span_only",
}
"""Content capture on. Also applied when another distro configured the process (see
:mod:`judgeval.instrumentation.setup_check`)."""

DISTRO_ENV_DEFAULTS: dict[str, str] = {
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "none",
    OTEL_LOGS_EXPORTER: "none",
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4317",
    **CONTENT_DEFAULTS,
}
"""Environment defaults the distro applies with ``os.environ.setdefault``."""


WIRE_EXPORTER_NAME = "judgeval_otlp_grpc"
"""``opentelemetry_traces_exporter`` entry point of the stock OTLP/gRPC exporter with judgeval's wire
encoder (:mod:`judgeval.tracer._wire_exporter`)."""


class JudgevalDistro(BaseDistro):  # type: ignore[misc]
    """``opentelemetry_distro`` entry point ``judgeval``: environment defaults, nothing else."""

    applied: ClassVar[bool] = False
    """Whether this process's ``opentelemetry-instrument`` ran this distro (and not another one)."""

    def _configure(self, **kwargs: Any) -> None:
        JudgevalDistro.applied = True
        exporter_chosen = bool(os.environ.get(OTEL_TRACES_EXPORTER, "").strip())
        for name, value in DISTRO_ENV_DEFAULTS.items():
            os.environ.setdefault(name, value)
        if not exporter_chosen and otlp_protocol() == GRPC:
            # Our default is "otlp" over gRPC: the same exporter, with the cheaper encoder. A user who
            # names an exporter (even "otlp") gets exactly that one.
            os.environ[OTEL_TRACES_EXPORTER] = WIRE_EXPORTER_NAME


class JudgevalConfigurator(_OTelSDKConfigurator):  # type: ignore[misc]
    """``opentelemetry_configurator`` entry point ``judgeval``: the SDK's standard setup from ``OTEL_*``.

    ``JudgevalInstrumentor`` adds agent attribution to the provider this creates.
    """
