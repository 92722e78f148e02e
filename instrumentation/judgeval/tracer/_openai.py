"""LLM spans for the OpenAI client: ``wrap(OpenAI())`` and, later, an OTel instrumentor share this code.

:func:`chat_completion_wrapper` / :func:`async_chat_completion_wrapper` return functions with ``wrapt``'s
wrapper signature ``(wrapped, instance, args, kwargs)``, so an instrumentor can pass them to
``wrapt.wrap_function_wrapper`` unchanged; ``wrap()`` applies them to one client instance only.
Each call becomes a CLIENT span ``chat {model}`` following the GenAI semantic conventions. The user's
exception is recorded and re-raised unchanged; our own failures are logged and never reach the caller.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from judgeval import semconv
from judgeval.tracer._capture import truncate
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._decorators import record_error
from judgeval.tracer._openai_messages import _get, input_messages, output_messages

logger = logging.getLogger("judgeval")

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

_REQUEST_PARAMETERS = {
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "max_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "max_completion_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "seed": semconv.GEN_AI_REQUEST_SEED,
    "frequency_penalty": semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": semconv.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "n": semconv.GEN_AI_REQUEST_CHOICE_COUNT,
}


def _capped_json(value: Any, config: TracerConfig) -> str:
    return truncate(json.dumps(value, default=str, ensure_ascii=False), config.capture_max_chars * 4)


def request_attributes(kwargs: Mapping[str, Any], config: TracerConfig) -> dict[str, Any]:
    """Span attributes known before the call: operation, provider, model, parameters, input messages."""
    attributes: dict[str, Any] = {
        semconv.GEN_AI_OPERATION_NAME: semconv.GenAiOperationName.CHAT.value,
        semconv.GEN_AI_PROVIDER_NAME: semconv.GenAiProviderName.OPENAI.value,
    }
    if isinstance(kwargs.get("model"), str):
        attributes[semconv.GEN_AI_REQUEST_MODEL] = kwargs["model"]
    for parameter, key in _REQUEST_PARAMETERS.items():
        value = kwargs.get(parameter)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[key] = value
    stop = kwargs.get("stop")
    if stop:
        attributes[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop] if isinstance(stop, str) else list(stop)
    messages = kwargs.get("messages")
    if config.capture_content and messages is not None:
        attributes[semconv.GEN_AI_INPUT_MESSAGES] = _capped_json(
            input_messages(messages, config.capture_max_chars), config
        )
    return attributes


def response_attributes(response: Any, config: TracerConfig) -> dict[str, Any]:
    """Span attributes from a ``ChatCompletion``: id, model, finish reasons, usage, output messages."""
    attributes: dict[str, Any] = {}
    for key, field in ((semconv.GEN_AI_RESPONSE_ID, "id"), (semconv.GEN_AI_RESPONSE_MODEL, "model")):
        value = _get(response, field)
        if isinstance(value, str):
            attributes[key] = value
    choices = list(_get(response, "choices") or [])
    attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [
        str(_get(c, "finish_reason") or "stop") for c in choices
    ]
    usage = _get(response, "usage")
    for key, field in (
        (semconv.GEN_AI_USAGE_INPUT_TOKENS, "prompt_tokens"),
        (semconv.GEN_AI_USAGE_OUTPUT_TOKENS, "completion_tokens"),
    ):
        value = _get(usage, field) if usage is not None else None
        if isinstance(value, int):
            attributes[key] = value
    if config.capture_content and choices:
        attributes[semconv.GEN_AI_OUTPUT_MESSAGES] = _capped_json(
            output_messages(choices, config.capture_max_chars), config
        )
    return attributes


def start_chat_span(tracer: trace.Tracer, kwargs: Mapping[str, Any], config: TracerConfig) -> Span:
    """Start the CLIENT span of one chat completion call."""
    model = kwargs.get("model")
    name = f"chat {model}" if isinstance(model, str) else "chat"
    span = tracer.start_span(name, kind=SpanKind.CLIENT)
    if span.is_recording():
        span.set_attributes(request_attributes(kwargs, config))
    return span


def _safe(action: Callable[..., None], *args: Any) -> None:
    try:
        action(*args)
    except Exception:
        logger.exception("judgeval could not record an LLM call")


def finish_chat_span(span: Span, kwargs: Mapping[str, Any], response: Any, config: TracerConfig) -> None:
    """Record the response (or mark a stream, which is passed through untouched) and end the span."""
    try:
        if kwargs.get("stream"):
            span.set_attribute(semconv.JUDGEVAL_LLM_STREAMED, True)
        elif span.is_recording():
            span.set_attributes(response_attributes(response, config))
    finally:
        span.end()


def fail_chat_span(span: Span, error: BaseException) -> None:
    """Record the user's error on the span and end it; the caller re-raises."""
    try:
        record_error(span, error)
    finally:
        span.end()


def chat_completion_wrapper(tracer: trace.Tracer, config: TracerConfig) -> Wrapper:
    """A wrapt-style wrapper tracing sync ``Completions.create``."""

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        try:
            span = start_chat_span(tracer, kwargs, config)
        except Exception:
            logger.exception("judgeval could not start an LLM span; calling untraced")
            return wrapped(*args, **kwargs)
        with trace.use_span(span, record_exception=False, set_status_on_exception=False):
            try:
                response = wrapped(*args, **kwargs)
            except BaseException as exc:
                _safe(fail_chat_span, span, exc)
                raise
        _safe(finish_chat_span, span, kwargs, response, config)
        return response

    return wrapper


def async_chat_completion_wrapper(tracer: trace.Tracer, config: TracerConfig) -> Wrapper:
    """A wrapt-style wrapper tracing ``AsyncCompletions.create``."""

    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        try:
            span = start_chat_span(tracer, kwargs, config)
        except Exception:
            logger.exception("judgeval could not start an LLM span; calling untraced")
            return await wrapped(*args, **kwargs)
        with trace.use_span(span, record_exception=False, set_status_on_exception=False):
            try:
                response = await wrapped(*args, **kwargs)
            except BaseException as exc:
                _safe(fail_chat_span, span, exc)
                raise
        _safe(finish_chat_span, span, kwargs, response, config)
        return response

    return wrapper
