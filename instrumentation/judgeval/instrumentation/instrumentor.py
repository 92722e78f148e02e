"""``JudgevalInstrumentor``: LLM spans and agent attribution for every OpenAI/Anthropic client in the process.

It patches the client classes (``Completions.create``/``parse``, ``Responses.create``/``parse``,
``Embeddings.create`` and
their ``Async`` twins; Anthropic's ``Messages.create`` and ``Messages.stream`` when ``anthropic`` is
installed) with the same
wrappers ``wrap()`` uses, and adds :class:`~judgeval.tracer._agent.AgentAttributionSpanProcessor` to the
SDK tracer provider. ``uninstrument()`` removes every patch. A client also passed to ``wrap()`` is
traced once, not twice. With another OpenAI/Anthropic instrumentation active (official, OpenInference,
OpenLLMetry), that vendor's calls are left to it (see ``JUDGEVAL_OPENAI_SPANS``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.sdk.trace import TracerProvider

from judgeval import environment_variables
from judgeval.tracer._anthropic import MESSAGES, MESSAGES_STREAM_HELPER
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._llm_span import (
    LlmOperation,
    Wrapper,
    async_llm_wrapper,
    llm_wrapper,
    stream_manager_wrapper,
)
from judgeval.tracer._openai import CHAT_COMPLETIONS
from judgeval.tracer._openai_responses import EMBEDDINGS, RESPONSES
from judgeval.tracer._provider import resolve_provider

logger = logging.getLogger("judgeval")

INSTRUMENTATION_NAME = "judgeval.instrumentation"


@dataclass(frozen=True, slots=True)
class PatchTarget:
    """One client method the instrumentor patches."""

    module: str
    owner: str
    method: str
    operation: LlmOperation
    wrapper_factory: Callable[[LlmOperation, trace.Tracer, TracerConfig], Wrapper]


def _targets(
    module: str, sync_owner: str, operation: LlmOperation, method: str = "create"
) -> tuple[PatchTarget, PatchTarget]:
    return (
        PatchTarget(module, sync_owner, method, operation, llm_wrapper),
        PatchTarget(module, f"Async{sync_owner}", method, operation, async_llm_wrapper),
    )


PATCH_TARGETS: tuple[PatchTarget, ...] = (
    *_targets("openai.resources.chat.completions", "Completions", CHAT_COMPLETIONS),
    # Structured outputs (``client.chat.completions.parse``, also reached as ``client.beta.chat...``, and
    # ``client.responses.parse``) post their request without calling ``create``.
    *_targets("openai.resources.chat.completions", "Completions", CHAT_COMPLETIONS, "parse"),
    *_targets("openai.resources.responses", "Responses", RESPONSES),
    *_targets("openai.resources.responses", "Responses", RESPONSES, "parse"),
    *_targets("openai.resources.embeddings", "Embeddings", EMBEDDINGS),
    *_targets("anthropic.resources.messages", "Messages", MESSAGES),
    # ``AsyncMessages.stream`` is a plain method returning an async context manager, like the sync one.
    PatchTarget(
        "anthropic.resources.messages", "Messages", "stream", MESSAGES_STREAM_HELPER, stream_manager_wrapper
    ),
    PatchTarget(
        "anthropic.resources.messages",
        "AsyncMessages",
        "stream",
        MESSAGES_STREAM_HELPER,
        stream_manager_wrapper,
    ),
)
"""Every method patched, when its module can be imported (``anthropic`` is optional)."""


class JudgevalInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """``opentelemetry_instrumentor`` entry point ``judgeval``.

    ``JudgevalInstrumentor().instrument(tracer_provider=...)`` (default: the global provider) patches the
    client classes; ``uninstrument()`` undoes it. Like every instrumentor it is a process-wide singleton.
    """

    _patched: tuple[PatchTarget, ...] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        config = TracerConfig.resolve(None)
        if not config.monitoring:
            logger.info("judgeval instrumentation is off (%s=false)",
                        environment_variables.JUDGMENT_MONITORING)
            return
        provider = kwargs.get("tracer_provider") or trace.get_tracer_provider()
        if isinstance(provider, TracerProvider):
            resolve_provider(config.project_name, explicit=provider)  # adds agent attribution, once
        tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=provider)
        patched = []
        for target in PATCH_TARGETS:
            if self._patch(target, tracer, config):
                patched.append(target)
        self._patched = tuple(patched)

    @staticmethod
    def _patch(target: PatchTarget, tracer: trace.Tracer, config: TracerConfig) -> bool:
        try:
            module = importlib.import_module(target.module)
            getattr(getattr(module, target.owner), target.method)
        except (ImportError, AttributeError):
            logger.debug("judgeval: %s.%s is not available; not traced", target.module, target.owner)
            return False
        wrapper = target.wrapper_factory(target.operation, tracer, config)
        wrapt.wrap_function_wrapper(module, f"{target.owner}.{target.method}", wrapper)
        return True

    def _uninstrument(self, **kwargs: Any) -> None:
        for target in self._patched:
            unwrap(getattr(importlib.import_module(target.module), target.owner), target.method)
        self._patched = ()
