"""Trace agents with OpenTelemetry: ``Tracer`` (``observe``, ``agent``, ``async_evaluate``) and ``wrap``."""

from __future__ import annotations

from typing import TypeVar

from judgeval.tracer._config import TracerConfig
from judgeval.tracer._tracer import Tracer, latest_tracer
from judgeval.tracer._wrap_client import patch_client

__all__ = ["Tracer", "wrap"]

ClientT = TypeVar("ClientT")


def wrap(client: ClientT, tracer: Tracer | None = None) -> ClientT:
    """Trace the LLM calls of this OpenAI/AsyncOpenAI (or Anthropic) client; returns the same client.

    Chat completions, Responses and embeddings (Anthropic: messages) become ``chat {model}`` /
    ``embeddings {model}`` CLIENT spans with GenAI semantic-convention attributes, nested under the current
    span; streamed calls end their span when the stream ends. Wrapping twice is harmless, and so is
    wrapping a client whose class ``JudgevalInstrumentor`` already traces. Uses ``tracer`` (default: the
    most recently created Tracer, else the global provider); with monitoring disabled the client is
    returned untouched.
    """
    owner = tracer if tracer is not None else latest_tracer()
    if owner is not None:
        config, otel_tracer = owner.config, owner.otel_tracer
    else:
        from opentelemetry import trace

        config, otel_tracer = TracerConfig.resolve(None), trace.get_tracer("judgeval")
    if not config.monitoring:
        return client
    return patch_client(client, otel_tracer, config)
