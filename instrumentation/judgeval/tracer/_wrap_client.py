"""``wrap(client)``: trace one OpenAI client instance's chat completions, idempotently and reversibly."""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any, TypeVar

from opentelemetry import trace

from judgeval.tracer._config import TracerConfig
from judgeval.tracer._openai import async_chat_completion_wrapper, chat_completion_wrapper

logger = logging.getLogger("judgeval")

ClientT = TypeVar("ClientT")
_WRAPPED_MARK = "__judgeval_wrapped__"


def patch_client(client: ClientT, tracer: trace.Tracer, config: TracerConfig) -> ClientT:
    """Patch ``client.chat.completions.create`` on this instance only; a no-op if already patched."""
    try:
        completions = client.chat.completions  # type: ignore[attr-defined]
        original = completions.create
    except AttributeError:
        logger.warning("wrap() got %s, which has no chat.completions.create; left untouched", type(client))
        return client
    if getattr(original, _WRAPPED_MARK, False):
        return client
    create: Any
    if _is_async(completions, original):
        async_wrapper = async_chat_completion_wrapper(tracer, config)

        @functools.wraps(original)
        async def create(*args: Any, **kwargs: Any) -> Any:
            return await async_wrapper(original, completions, args, kwargs)
    else:
        sync_wrapper = chat_completion_wrapper(tracer, config)

        @functools.wraps(original)
        def create(*args: Any, **kwargs: Any) -> Any:
            return sync_wrapper(original, completions, args, kwargs)

    setattr(create, _WRAPPED_MARK, True)
    completions.create = create
    return client


def _is_async(completions: Any, create: Any) -> bool:
    # openai decorates ``AsyncCompletions.create`` with a sync-looking argument checker; look beneath it.
    if inspect.iscoroutinefunction(inspect.unwrap(create)):
        return True
    return type(completions).__name__.startswith("Async")


def unpatch_client(client: ClientT) -> ClientT:
    """Undo :func:`patch_client` (the instance falls back to the class's ``create``)."""
    completions = getattr(getattr(client, "chat", None), "completions", None)
    if completions is not None and getattr(vars(completions).get("create"), _WRAPPED_MARK, False):
        del completions.create
    return client
