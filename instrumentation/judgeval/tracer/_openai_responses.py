"""OpenAI Responses API (``client.responses.create``) and embeddings as GenAI spans.

Responses input items and output items are mapped onto the same semantic-convention message structure as
chat completions: message items become text parts, ``function_call`` items tool-call parts and
``function_call_output`` items tool-call responses. A streamed response is described by its final
``response.completed`` (or ``.incomplete``/``.failed``) event; a stream that stops early is described by
the last snapshot plus the text deltas received.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from judgeval import semconv
from judgeval.tracer._capture import truncate
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._llm_messages import (
    _arguments,
    _content_parts,
    _get,
    capped_json,
    text_parts,
    token_usage_attributes,
    tool_response,
)
from judgeval.tracer._llm_operation import LlmOperation
from judgeval.tracer._openai import common_request_attributes, span_name


def _input_item(item: Any, max_chars: int) -> dict[str, Any]:
    kind = _get(item, "type", "message")
    if kind == "function_call_output":
        response = tool_response(_get(item, "output"), max_chars)
        return {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": _get(item, "call_id"), "response": response}],
        }
    if kind == "function_call":
        return {"role": "assistant", "parts": [_function_call_part(item, max_chars)]}
    return {
        "role": str(_get(item, "role", "user")),
        "parts": _content_parts(_get(item, "content"), max_chars),
    }


def _function_call_part(item: Any, max_chars: int) -> dict[str, Any]:
    arguments = _get(item, "arguments")
    if isinstance(arguments, str):
        arguments = truncate(arguments, max_chars)
    return {
        "type": "tool_call",
        "id": _get(item, "call_id"),
        "name": _get(item, "name"),
        "arguments": _arguments(arguments),
    }


def responses_input_messages(value: Any, max_chars: int) -> list[dict[str, Any]]:
    """The ``input`` of ``responses.create`` (a string or a list of items) as semantic-convention messages."""
    if isinstance(value, str):
        return [{"role": "user", "parts": text_parts(value, max_chars)}]
    return [_input_item(item, max_chars) for item in value or ()]


def responses_output_messages(
    output: Iterable[Any], finish_reason: str, max_chars: int
) -> list[dict[str, Any]]:
    """A response's output items as one assistant message (text, then tool calls in order)."""
    parts: list[dict[str, Any]] = []
    for item in output:
        kind = _get(item, "type")
        if kind == "message":
            parts += _content_parts(_get(item, "content"), max_chars)
        elif kind == "function_call":
            parts.append(_function_call_part(item, max_chars))
        elif kind:
            parts.append({"type": str(kind)})  # reasoning, web search, ...: record the kind only
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason}]


def _finish_reason(response: Any, output: list[Any]) -> str | None:
    status = _get(response, "status")
    if status == "completed":
        return "tool_calls" if any(_get(i, "type") == "function_call" for i in output) else "stop"
    if status == "incomplete":
        return str(_get(_get(response, "incomplete_details"), "reason") or "length")
    return "error" if status == "failed" else None


def request_attributes(kwargs: Mapping[str, Any], config: TracerConfig) -> dict[str, Any]:
    """Span attributes of a ``responses.create`` call known before it runs."""
    attributes = common_request_attributes(
        kwargs, semconv.GenAiOperationName.CHAT, semconv.GenAiProviderName.OPENAI, config
    )
    if config.capture_content:
        cap = config.capture_max_chars
        if isinstance(kwargs.get("instructions"), str):
            attributes[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = capped_json(
                text_parts(kwargs["instructions"], cap), cap * 4
            )
        if kwargs.get("input") is not None:
            attributes[semconv.GEN_AI_INPUT_MESSAGES] = capped_json(
                responses_input_messages(kwargs["input"], cap), cap * 4
            )
    return attributes


def response_attributes(response: Any, config: TracerConfig) -> dict[str, Any]:
    """Span attributes from a ``Response``: id, model, finish reason, usage, output messages."""
    attributes: dict[str, Any] = {}
    for key, name in ((semconv.GEN_AI_RESPONSE_ID, "id"), (semconv.GEN_AI_RESPONSE_MODEL, "model")):
        if isinstance(_get(response, name), str):
            attributes[key] = _get(response, name)
    output = list(_get(response, "output") or [])
    reason = _finish_reason(response, output)
    if reason:
        attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    usage = _get(response, "usage")
    attributes |= token_usage_attributes(
        input_tokens=_get(usage, "input_tokens"),
        output_tokens=_get(usage, "output_tokens"),
        cache_read_tokens=_get(_get(usage, "input_tokens_details"), "cached_tokens"),
    )
    if config.capture_content and output:
        cap = config.capture_max_chars
        attributes[semconv.GEN_AI_OUTPUT_MESSAGES] = capped_json(
            responses_output_messages(output, reason or "stop", cap), cap * 4
        )
    return attributes


class ResponsesStreamAccumulator:
    """Keeps the latest ``response`` snapshot of a Responses event stream and the text deltas."""

    def __init__(self) -> None:
        self._response: Any = None
        self._text: list[str] = []

    def add(self, event: Any) -> None:
        if _get(event, "response") is not None:
            self._response = _get(event, "response")
        if _get(event, "type") == "response.output_text.delta" and isinstance(_get(event, "delta"), str):
            self._text.append(_get(event, "delta"))

    def attributes(self, config: TracerConfig) -> dict[str, Any]:
        if _get(self._response, "status") in ("completed", "incomplete", "failed"):
            return response_attributes(self._response, config)
        partial = {"id": _get(self._response, "id"), "model": _get(self._response, "model"), "output": []}
        if self._text:
            partial["output"] = [
                {"type": "message", "content": [{"type": "output_text", "text": "".join(self._text)}]}
            ]
        return response_attributes(partial, config)


RESPONSES = LlmOperation(
    provider=semconv.GenAiProviderName.OPENAI,
    span_name=span_name(semconv.GenAiOperationName.CHAT),
    request_attributes=request_attributes,
    response_attributes=response_attributes,
    new_accumulator=ResponsesStreamAccumulator,
)
"""``responses.create`` (sync and async, plain and ``stream=True``)."""


def embeddings_request_attributes(kwargs: Mapping[str, Any], config: TracerConfig) -> dict[str, Any]:
    """Span attributes of an ``embeddings.create`` call known before it runs."""
    attributes = common_request_attributes(
        kwargs, semconv.GenAiOperationName.EMBEDDINGS, semconv.GenAiProviderName.OPENAI, config
    )
    if isinstance(kwargs.get("dimensions"), int):
        attributes[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = kwargs["dimensions"]
    if isinstance(kwargs.get("encoding_format"), str):
        attributes[semconv.GEN_AI_REQUEST_ENCODING_FORMATS] = [kwargs["encoding_format"]]
    return attributes


def embeddings_response_attributes(response: Any, config: TracerConfig) -> dict[str, Any]:
    """Span attributes from a ``CreateEmbeddingResponse``: model, input tokens, vector size."""
    attributes: dict[str, Any] = {}
    if isinstance(_get(response, "model"), str):
        attributes[semconv.GEN_AI_RESPONSE_MODEL] = _get(response, "model")
    attributes |= token_usage_attributes(_get(_get(response, "usage"), "prompt_tokens"), None)
    data = list(_get(response, "data") or [])
    vector = _get(data[0], "embedding") if data else None
    if isinstance(vector, list):
        attributes[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
    return attributes


EMBEDDINGS = LlmOperation(
    provider=semconv.GenAiProviderName.OPENAI,
    span_name=span_name(semconv.GenAiOperationName.EMBEDDINGS),
    request_attributes=embeddings_request_attributes,
    response_attributes=embeddings_response_attributes,
)
"""``embeddings.create`` (sync and async)."""
