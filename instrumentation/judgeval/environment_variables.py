"""Every environment variable of our own that the ``judgeval`` SDK and CLI read, one constant each.

As ``opentelemetry.sdk.environment_variables``: the constant's name is the variable's name, its docstring
says what it does. Standard ``OTEL_*`` variables keep their OpenTelemetry meaning and are imported from
``opentelemetry.environment_variables`` / ``opentelemetry.sdk.environment_variables``, never redefined.
No other module of the package spells a ``JUDGMENT_``/``JUDGEVAL_`` name
(``tests/test_environment_variables.py`` pins it). This module imports nothing.
"""

from __future__ import annotations

from typing import Final

JUDGMENT_MONITORING: Final = "JUDGMENT_MONITORING"
"""``false`` disables tracing: decorators return the original function and no exporter is created.
Read once, when a ``Tracer`` is constructed."""

JUDGMENT_EVALUATIONS: Final = "JUDGMENT_EVALUATIONS"
"""``false`` disables scoring: ``async_evaluate`` returns immediately. Read once, when a ``Tracer`` is
constructed."""

JUDGMENT_API_URL: Final = "JUDGMENT_API_URL"
"""``host:port`` of the evaluator's admin gRPC API, used by the ``judgeval`` CLI."""

JUDGMENT_API_KEY: Final = "JUDGMENT_API_KEY"
"""Bearer token for the evaluator's admin API: what the CLI sends and what the evaluator requires."""

JUDGMENT_PREFIX: Final = "JUDGMENT_"
"""Prefix of the variables above; the evaluator strips every variable carrying it from the environment of
processes that run uploaded code (pip installs of scorer requirements)."""

JUDGEVAL_CAPTURE_MAX_CHARS: Final = "JUDGEVAL_CAPTURE_MAX_CHARS"
"""Cap on captured inputs, outputs and message content per attribute (default 8192 characters)."""

JUDGEVAL_CAPTURE_CONTENT: Final = "JUDGEVAL_CAPTURE_CONTENT"
"""``false`` stops recording inputs, outputs and LLM message content on spans."""

JUDGEVAL_OPENAI_SPANS: Final = "JUDGEVAL_OPENAI_SPANS"
"""Who creates OpenAI/Anthropic LLM spans: ``auto`` (default: judgeval, unless another instrumentation of
that client is active, e.g. the official OpenTelemetry, OpenInference or OpenLLMetry one, then only it),
``judgeval`` (always judgeval) or ``off`` (judgeval never creates OpenAI spans; Anthropic as ``auto``)."""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)
"""The official GenAI instrumentations' content-capture mode; the judgeval distro defaults it to
``span_only`` (their util takes a mode, so ``true`` would mean no content). Defined here because the
constant upstream lives in a package judgeval does not depend on."""
