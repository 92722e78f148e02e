"""OpenAI chat completions as GenAI ``chat`` spans: request/response attributes and the stream accumulator.

:data:`CHAT_COMPLETIONS` is the :class:`~judgeval.tracer._llm_span.LlmOperation` that ``wrap()`` and the
instrumentor apply to ``Completions.create`` / ``AsyncCompletions.create``. A stream's chunks are merged
back into the shape of a ``ChatCompletion`` (text, tool calls by index, finish reasons, usage), so plain and
streamed calls are described by the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from judgeval import semconv
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._llm_messages import (
    _get,
    capped_json,
    input_messages,
    output_messages,
    token_usage_attributes,
)
from judgeval.tracer._llm_operation import LlmOperation

_REQUEST_PARAMETERS = {
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "max_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "max_completion_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "max_output_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "seed": semconv.GEN_AI_REQUEST_SEED,
    "frequency_penalty": semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": semconv.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "n": semconv.GEN_AI_REQUEST_CHOICE_COUNT,
    "top_k": semconv.GEN_AI_REQUEST_TOP_K,
}


def common_request_attributes(
    kwargs: Mapping[str, Any],
    operation: semconv.GenAiOperationName,
    provider: semconv.GenAiProviderName,
    config: TracerConfig,
) -> dict[str, Any]:
    """Operation, provider, model, sampling parameters and (with content capture) tool definitions."""
    attributes: dict[str, Any] = {
        semconv.GEN_AI_OPERATION_NAME: operation.value,
        semconv.GEN_AI_PROVIDER_NAME: provider.value,
    }
    if isinstance(kwargs.get("model"), str):
        attributes[semconv.GEN_AI_REQUEST_MODEL] = kwargs["model"]
    for parameter, key in _REQUEST_PARAMETERS.items():
        value = kwargs.get(parameter)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[key] = value
    stop = kwargs.get("stop", kwargs.get("stop_sequences"))
    if stop:
        attributes[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop] if isinstance(stop, str) else list(stop)
    tools = kwargs.get("tools")
    if tools and config.capture_content:  # descriptions and schemas can reveal as much as prompts
        attributes[semconv.GEN_AI_TOOL_DEFINITIONS] = capped_json(list(tools), _TOOL_DEFINITIONS_CAP)
    return attributes


_TOOL_DEFINITIONS_CAP = 65536  # schemas are one JSON document, not per-part text: a generous fixed cap


def span_name(operation: semconv.GenAiOperationName) -> Any:
    """``{operation} {model}`` span names, as the GenAI conventions ask."""

    def name(kwargs: Mapping[str, Any]) -> str:
        model = kwargs.get("model")
        return f"{operation.value} {model}" if isinstance(model, str) else operation.value

    return name


def request_attributes(kwargs: Mapping[str, Any], config: TracerConfig) -> dict[str, Any]:
    """Span attributes of a chat completion known before the call, input messages included."""
    attributes = common_request_attributes(
        kwargs, semconv.GenAiOperationName.CHAT, semconv.GenAiProviderName.OPENAI, config
    )
    messages = kwargs.get("messages")
    if config.capture_content and messages is not None:
        attributes[semconv.GEN_AI_INPUT_MESSAGES] = capped_json(
            input_messages(messages, config.capture_max_chars), config.capture_max_chars * 4
        )
    return attributes


def response_attributes(response: Any, config: TracerConfig) -> dict[str, Any]:
    """Span attributes from a ``ChatCompletion``: id, model, finish reasons, usage, output messages."""
    attributes: dict[str, Any] = {}
    for key, name in ((semconv.GEN_AI_RESPONSE_ID, "id"), (semconv.GEN_AI_RESPONSE_MODEL, "model")):
        value = _get(response, name)
        if isinstance(value, str):
            attributes[key] = value
    choices = list(_get(response, "choices") or [])
    reasons = [str(_get(c, "finish_reason")) for c in choices if _get(c, "finish_reason")]
    if reasons:
        attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    usage = _get(response, "usage")
    attributes |= token_usage_attributes(
        input_tokens=_get(usage, "prompt_tokens"),
        output_tokens=_get(usage, "completion_tokens"),
        cache_read_tokens=_get(_get(usage, "prompt_tokens_details"), "cached_tokens"),
    )
    if config.capture_content and choices:
        attributes[semconv.GEN_AI_OUTPUT_MESSAGES] = capped_json(
            output_messages(choices, config.capture_max_chars), config.capture_max_chars * 4
        )
    return attributes


@dataclass
class _ChoiceBuffer:
    role: str = "assistant"
    text: list[str] = field(default_factory=list)
    tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish_reason: str | None = None

    def add(self, delta: Any) -> None:
        if _get(delta, "role"):
            self.role = str(_get(delta, "role"))
        if _get(delta, "content"):
            self.text.append(str(_get(delta, "content")))
        for call in _get(delta, "tool_calls") or ():
            entry = self.tool_calls.setdefault(
                int(_get(call, "index", len(self.tool_calls))), {"id": None, "name": None, "arguments": []}
            )
            entry["id"] = _get(call, "id") or entry["id"]
            function = _get(call, "function")
            entry["name"] = _get(function, "name") or entry["name"]
            if _get(function, "arguments"):
                entry["arguments"].append(str(_get(function, "arguments")))

    def as_choice(self) -> dict[str, Any]:
        calls = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": "".join(c["arguments"])},
            }
            for _, c in sorted(self.tool_calls.items())
        ]
        message = {"role": self.role, "content": "".join(self.text) or None, "tool_calls": calls or None}
        return {"message": message, "finish_reason": self.finish_reason}


class ChatStreamAccumulator:
    """Merges ``chat.completion.chunk`` objects back into a ``ChatCompletion``-shaped dict."""

    def __init__(self) -> None:
        self._fields: dict[str, Any] = {}
        self._choices: dict[int, _ChoiceBuffer] = {}

    def add(self, chunk: Any) -> None:
        for name in ("id", "model"):
            if _get(chunk, name):
                self._fields[name] = _get(chunk, name)
        if _get(chunk, "usage") is not None:
            self._fields["usage"] = _get(chunk, "usage")
        for choice in _get(chunk, "choices") or ():
            buffer = self._choices.setdefault(int(_get(choice, "index", 0)), _ChoiceBuffer())
            buffer.add(_get(choice, "delta"))
            if _get(choice, "finish_reason"):
                buffer.finish_reason = str(_get(choice, "finish_reason"))

    def completion(self) -> dict[str, Any]:
        """What was received so far, shaped like a ``ChatCompletion``."""
        return self._fields | {"choices": [b.as_choice() for _, b in sorted(self._choices.items())]}

    def attributes(self, config: TracerConfig) -> dict[str, Any]:
        return response_attributes(self.completion(), config)


CHAT_COMPLETIONS = LlmOperation(
    provider=semconv.GenAiProviderName.OPENAI,
    span_name=span_name(semconv.GenAiOperationName.CHAT),
    request_attributes=request_attributes,
    response_attributes=response_attributes,
    new_accumulator=ChatStreamAccumulator,
)
"""``chat.completions.create`` (sync and async, plain and ``stream=True``)."""
