"""Trace agents with OpenTelemetry: ``Tracer`` (``observe``, ``agent``, ``async_evaluate``) and ``wrap``;
``TraceScorerConfig`` requests a trace scorer on an observed function's span (``observe(scorer_config=...)``).

``JudgevalUsageWarning`` is the warning category of a misused call (e.g. an invalid ``sampling_rate``), so
apps can filter it or turn it into an error in their tests.
"""

from __future__ import annotations

from typing import TypeVar

from judgeval.tracer._config import TracerConfig
from judgeval.tracer._evaluate import JudgevalUsageWarning
from judgeval.tracer._trace_scorer_config import InvalidTraceScorerConfig, TraceScorerConfig
from judgeval.tracer._tracer import Tracer, latest_tracer
from judgeval.tracer._wrap_client import safe_patch_client

__all__ = ["InvalidTraceScorerConfig", "JudgevalUsageWarning", "TraceScorerConfig", "Tracer", "wrap"]

ClientT = TypeVar("ClientT")


def wrap(client: ClientT, tracer: Tracer | None = None) -> ClientT:
    """Trace the LLM calls of this OpenAI/AsyncOpenAI (or Anthropic) client; returns the same client.

    Chat completions, Responses and embeddings (Anthropic: messages) become ``chat {model}`` /
    ``embeddings {model}`` CLIENT spans with GenAI semantic-convention attributes, nested under the current
    span; streamed calls end their span when the stream ends. Clients made from this one with
    ``with_options(...)`` or ``copy()`` are traced too. Wrapping twice is harmless, and so is wrapping a
    client whose class ``JudgevalInstrumentor`` already traces. Uses ``tracer`` (default: the most
    recently created Tracer, else the global provider); with monitoring disabled the client is returned
    untouched. A client judgeval cannot patch is returned untraced, with the reason logged.
    """
    owner = tracer if tracer is not None else latest_tracer()
    if owner is not None:
        config, otel_tracer = owner.config, owner.otel_tracer
    else:
        from opentelemetry import trace

        config, otel_tracer = TracerConfig.resolve(None), trace.get_tracer("judgeval")
    if not config.monitoring:
        return client
    return safe_patch_client(client, otel_tracer, config)
