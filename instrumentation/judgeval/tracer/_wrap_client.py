"""``wrap(client)``: trace one OpenAI/Anthropic client instance's LLM calls, idempotently and reversibly.

The instance's resource methods (``chat.completions.create``/``parse`` (also under ``beta``),
``responses.create``/``parse``, ``embeddings.create``;
Anthropic's ``messages.create`` and ``messages.stream``) are replaced by instance attributes that run the
shared wrappers of ``_llm_span``; the class, and other clients, are untouched. ``with_raw_response`` and
``with_streaming_response`` call the patched method, so they are traced too (see ``_llm_raw_response``).
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any, TypeVar

from opentelemetry import trace

from judgeval._internal_errors import log_internal_error
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._llm_operation import LlmOperation
from judgeval.tracer._llm_span import async_llm_wrapper, llm_wrapper, stream_manager_wrapper

logger = logging.getLogger("judgeval")

ClientT = TypeVar("ClientT")
_WRAPPED_MARK = "__judgeval_wrapped__"
# Client methods returning a new client of the same vendor (per-call timeouts, retries, headers).
_CLIENT_COPIERS = ("copy", "with_options")
# Cached views of a resource (and of the client, ``client.with_raw_response.chat.completions``) that
# captured ``create`` when first read: dropped on (un)patching so they are built again around the
# current method.
_RESOURCE_VIEWS = ("with_raw_response", "with_streaming_response")


TracedMethods = dict[tuple[str, ...], LlmOperation]
"""(resource attribute path..., method name) → operation."""


def _openai_methods() -> TracedMethods:
    from judgeval.tracer._openai import CHAT_COMPLETIONS
    from judgeval.tracer._openai_responses import EMBEDDINGS, RESPONSES

    return {
        ("chat", "completions", "create"): CHAT_COMPLETIONS,
        # Structured outputs: ``parse`` posts the request itself (it never calls ``create``) and returns a
        # ``ParsedChatCompletion`` / ``ParsedResponse``, subclasses of what ``create`` returns.
        ("chat", "completions", "parse"): CHAT_COMPLETIONS,
        ("beta", "chat", "completions", "create"): CHAT_COMPLETIONS,
        ("beta", "chat", "completions", "parse"): CHAT_COMPLETIONS,
        ("responses", "create"): RESPONSES,
        ("responses", "parse"): RESPONSES,
        ("embeddings", "create"): EMBEDDINGS,
    }


def _anthropic_methods() -> TracedMethods:
    from judgeval.tracer._anthropic import MESSAGES, MESSAGES_STREAM_HELPER

    return {("messages", "create"): MESSAGES, ("messages", "stream"): MESSAGES_STREAM_HELPER}


def traced_methods(client: Any) -> TracedMethods:
    """The methods ``wrap()`` traces on this client, for its vendor."""
    if type(client).__module__.split(".")[0] == "anthropic":
        return _anthropic_methods()
    return _openai_methods()


def _resource(client: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        client = getattr(client, name, None)
    return client


def patch_client(client: ClientT, tracer: trace.Tracer, config: TracerConfig) -> ClientT:
    """Patch the LLM methods of this instance only; a no-op for methods already patched."""
    patched = 0
    for (*path, method), operation in traced_methods(client).items():
        resource = _resource(client, tuple(path))
        original = getattr(resource, method, None)
        if original is None:
            continue
        patched += 1
        if not getattr(original, _WRAPPED_MARK, False):
            traced = _traced_method(resource, original, operation, tracer, config, helper=method == "stream")
            setattr(resource, method, traced)
            _forget_views(resource)
    if not patched:
        logger.warning("wrap() got %s, which has no LLM method judgeval knows; left untouched", type(client))
        return client
    _forget_views(client)
    for name in _CLIENT_COPIERS:
        copier = getattr(client, name, None)
        if callable(copier) and not getattr(copier, _WRAPPED_MARK, False):
            setattr(client, name, _traced_copier(copier, tracer, config))
    return client


def safe_patch_client(client: ClientT, tracer: trace.Tracer, config: TracerConfig) -> ClientT:
    """:func:`patch_client` that logs instead of raising: a client we cannot patch stays usable, untraced."""
    try:
        return patch_client(client, tracer, config)
    except Exception:
        log_internal_error("judgeval could not wrap %s; its calls are not traced", type(client).__name__)
        return client


def _traced_copier(copier: Any, tracer: trace.Tracer, config: TracerConfig) -> Any:
    """``client.with_options(...)``/``.copy()`` build a new client; it is traced like the original."""

    @functools.wraps(copier)
    def traced_copy(*args: Any, **kwargs: Any) -> Any:
        return safe_patch_client(copier(*args, **kwargs), tracer, config)

    setattr(traced_copy, _WRAPPED_MARK, True)
    return traced_copy


def _traced_method(
    resource: Any,
    original: Any,
    operation: LlmOperation,
    tracer: trace.Tracer,
    config: TracerConfig,
    helper: bool,
) -> Any:
    """``original`` traced; ``helper`` marks a method returning a ``with``-only stream manager."""
    create: Any
    if helper:
        manager_wrapper = stream_manager_wrapper(operation, tracer, config)

        @functools.wraps(original)
        def create(*args: Any, **kwargs: Any) -> Any:
            return manager_wrapper(original, resource, args, kwargs)
    elif _is_async(resource, original):
        async_wrapper = async_llm_wrapper(operation, tracer, config)

        @functools.wraps(original)
        async def create(*args: Any, **kwargs: Any) -> Any:
            return await async_wrapper(original, resource, args, kwargs)
    else:
        sync_wrapper = llm_wrapper(operation, tracer, config)

        @functools.wraps(original)
        def create(*args: Any, **kwargs: Any) -> Any:
            return sync_wrapper(original, resource, args, kwargs)

    setattr(create, _WRAPPED_MARK, True)
    return create


def _is_async(resource: Any, create: Any) -> bool:
    # openai decorates ``AsyncCompletions.create`` with a sync-looking argument checker; look beneath it.
    if inspect.iscoroutinefunction(inspect.unwrap(create)):
        return True
    return type(resource).__name__.startswith("Async")


def unpatch_client(client: ClientT) -> ClientT:
    """Undo :func:`patch_client` (each resource falls back to its class's methods)."""
    for *path, method in traced_methods(client):
        resource = _resource(client, tuple(path))
        if _patched_here(resource, method):
            delattr(resource, method)
            _forget_views(resource)
    for name in _CLIENT_COPIERS:
        if _patched_here(client, name):
            delattr(client, name)
    _forget_views(client)
    return client


def _forget_views(owner: Any) -> None:
    instance_dict = getattr(owner, "__dict__", {})
    for name in _RESOURCE_VIEWS:
        instance_dict.pop(name, None)


def _patched_here(obj: Any, name: str) -> bool:
    # Only this instance's own attribute (``wrap()`` never touches classes); objects with slots have none.
    return bool(getattr(getattr(obj, "__dict__", {}).get(name), _WRAPPED_MARK, False))
