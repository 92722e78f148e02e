"""Living next to the official OpenTelemetry OpenAI instrumentation without duplicating LLM spans.

``opentelemetry-instrumentation-genai-openai`` (formerly ``opentelemetry-instrumentation-openai-v2``)
patches the same ``openai`` methods we do. If both traced a call, every LLM call would show up twice. With
``JUDGEVAL_OPENAI_SPANS=auto`` (the default) judgeval checks, per call, whether one of those
instrumentors is active and then creates no OpenAI span of its own; agent attribution still reaches the
official spans through ``AgentAttributionSpanProcessor``. ``judgeval`` always traces (disable the official
one with ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai``), ``off`` never traces OpenAI calls.
"""

from __future__ import annotations

import logging
import os
import sys
from enum import StrEnum

from judgeval import environment_variables, semconv

logger = logging.getLogger("judgeval")

OFFICIAL_OPENAI_INSTRUMENTATION_MODULES = (
    "opentelemetry.instrumentation.genai.openai",
    "opentelemetry.instrumentation.openai_v2",
)
"""Modules whose ``OpenAIInstrumentor`` traces the same OpenAI calls as judgeval."""


class OpenAiSpanMode(StrEnum):
    """Values of ``JUDGEVAL_OPENAI_SPANS``."""

    AUTO = "auto"
    JUDGEVAL = "judgeval"
    OFF = "off"


def openai_span_mode() -> OpenAiSpanMode:
    """The mode chosen by ``JUDGEVAL_OPENAI_SPANS``; an unknown value means ``auto`` (and is logged)."""
    raw = os.environ.get(environment_variables.JUDGEVAL_OPENAI_SPANS, "").strip().lower()
    if not raw:
        return OpenAiSpanMode.AUTO
    try:
        return OpenAiSpanMode(raw)
    except ValueError:
        logger.warning(
            "%s=%r is not one of auto, judgeval, off; using auto",
            environment_variables.JUDGEVAL_OPENAI_SPANS, raw,
        )
        return OpenAiSpanMode.AUTO


def official_openai_instrumentation_active() -> bool:
    """True if an official OpenTelemetry ``OpenAIInstrumentor`` is currently instrumenting ``openai``."""
    for module_name in OFFICIAL_OPENAI_INSTRUMENTATION_MODULES:
        # Only look at modules already imported: instrumenting imports them, and this runs on every call.
        instrumentor_class = getattr(sys.modules.get(module_name), "OpenAIInstrumentor", None)
        instance = getattr(instrumentor_class, "_instance", None)
        if instance is not None and getattr(instance, "is_instrumented_by_opentelemetry", False):
            return True
    return False


def defer_to_official_instrumentation(provider: semconv.GenAiProviderName) -> bool:
    """Whether judgeval should leave this provider's call to another instrumentation (or to nobody)."""
    if provider is not semconv.GenAiProviderName.OPENAI:
        return False
    mode = openai_span_mode()
    if mode is OpenAiSpanMode.AUTO:
        return official_openai_instrumentation_active()
    return mode is OpenAiSpanMode.OFF
