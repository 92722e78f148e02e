"""Anthropic ``messages.create`` as GenAI ``chat`` spans (``gen_ai.provider.name=anthropic``).

Content blocks map onto the semantic-convention parts: ``text`` → text, ``tool_use`` → tool call,
``tool_result`` → tool-call response. ``gen_ai.usage.input_tokens`` counts every input token, cached
ones included, as the conventions ask; Anthropic reports cache reads and writes separately, so they are
added up here and also recorded on their own. A stream's events are merged back into a ``Message``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from judgeval import semconv
from judgeval.tracer._capture import truncate
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._llm_messages import _get, capped_json, text_parts, token_usage_attributes
from judgeval.tracer._llm_operation import LlmOperation
from judgeval.tracer._openai import common_request_attributes, span_name


def _block_part(block: Any, max_chars: int) -> dict[str, Any]:
    kind = _get(block, "type", "text")
    if kind == "text":
        return {"type": "text", "content": truncate(str(_get(block, "text", "")), max_chars)}
    if kind == "tool_use":
        return {
            "type": "tool_call",
            "id": _get(block, "id"),
            "name": _get(block, "name"),
            "arguments": _get(block, "input"),
        }
    if kind == "tool_result":
        content = _get(block, "content")
        response: Any = content
        if isinstance(content, str):
            response = truncate(content, max_chars)
        elif content is not None:  # content blocks (text, images): the kinds and capped text, no bytes
            response = content_parts(content, max_chars)
        return {"type": "tool_call_response", "id": _get(block, "tool_use_id"), "response": response}
    return {"type": str(kind)}  # images, documents, thinking: the kind, not the bytes


def content_parts(content: Any, max_chars: int) -> list[dict[str, Any]]:
    """A message's ``content`` (a string or content blocks) as semantic-convention parts."""
    if isinstance(content, str):
        return text_parts(content, max_chars)
    return [_block_part(block, max_chars) for block in content or ()]


def request_attributes(kwargs: Mapping[str, Any], config: TracerConfig) -> dict[str, Any]:
    """Span attributes of a ``messages.create`` call known before it runs."""
    attributes = common_request_attributes(
        kwargs, semconv.GenAiOperationName.CHAT, semconv.GenAiProviderName.ANTHROPIC, config
    )
    if config.capture_content:
        cap = config.capture_max_chars
        if kwargs.get("system"):
            attributes[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = capped_json(
                content_parts(kwargs["system"], cap), cap * 4
            )
        messages = [
            {"role": str(_get(m, "role", "user")), "parts": content_parts(_get(m, "content"), cap)}
            for m in kwargs.get("messages") or ()
        ]
        attributes[semconv.GEN_AI_INPUT_MESSAGES] = capped_json(messages, cap * 4)
    return attributes


def response_attributes(message: Any, config: TracerConfig) -> dict[str, Any]:
    """Span attributes from a ``Message``: id, model, stop reason, usage, output message."""
    attributes: dict[str, Any] = {}
    for key, name in ((semconv.GEN_AI_RESPONSE_ID, "id"), (semconv.GEN_AI_RESPONSE_MODEL, "model")):
        if isinstance(_get(message, name), str):
            attributes[key] = _get(message, name)
    reason = _get(message, "stop_reason")
    if reason:
        attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [str(reason)]
    usage = _get(message, "usage")
    cache_read, cache_creation = (
        _get(usage, "cache_read_input_tokens"),
        _get(usage, "cache_creation_input_tokens"),
    )
    input_tokens = _get(usage, "input_tokens")
    if isinstance(input_tokens, int):
        input_tokens += sum(n for n in (cache_read, cache_creation) if isinstance(n, int))
    attributes |= token_usage_attributes(
        input_tokens, _get(usage, "output_tokens"), cache_read, cache_creation
    )
    if config.capture_content and _get(message, "content") is not None:
        cap = config.capture_max_chars
        output = {
            "role": "assistant",
            "parts": content_parts(_get(message, "content"), cap),
            "finish_reason": str(reason or "end_turn"),
        }
        attributes[semconv.GEN_AI_OUTPUT_MESSAGES] = capped_json([output], cap * 4)
    return attributes


class MessagesStreamAccumulator:
    """Merges Anthropic stream events (``message_start`` … ``message_stop``) back into a ``Message`` dict."""

    def __init__(self) -> None:
        self._message: dict[str, Any] = {}
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}

    def add(self, event: Any) -> None:
        kind = _get(event, "type")
        if kind == "message_start":
            start = _get(event, "message")
            self._message = {"id": _get(start, "id"), "model": _get(start, "model")}
            self._merge_usage(_get(start, "usage"))
        elif kind == "content_block_start":
            block = _get(event, "content_block")
            self._blocks[int(_get(event, "index", 0))] = {
                "type": _get(block, "type"),
                "id": _get(block, "id"),
                "name": _get(block, "name"),
                "text": [],
            }
        elif kind == "content_block_delta":
            delta = _get(event, "delta")
            piece = _get(delta, "text") or _get(delta, "partial_json") or ""
            self._blocks.setdefault(int(_get(event, "index", 0)), {"type": "text", "text": []})[
                "text"
            ].append(piece)
        elif kind == "message_delta":
            self._message["stop_reason"] = _get(_get(event, "delta"), "stop_reason")
            self._merge_usage(_get(event, "usage"))

    def _merge_usage(self, usage: Any) -> None:
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ):
            if isinstance(_get(usage, name), int):
                self._usage[name] = _get(usage, name)

    def message(self) -> dict[str, Any]:
        """What was received so far, shaped like a ``Message``."""
        content = []
        for _, block in sorted(self._blocks.items()):
            text = "".join(block["text"])
            if block["type"] == "tool_use":
                try:
                    arguments: Any = json.loads(text) if text else {}
                except ValueError:
                    arguments = text  # the stream stopped mid-arguments
                content.append(
                    {"type": "tool_use", "id": block["id"], "name": block["name"], "input": arguments}
                )
            else:
                content.append({"type": block["type"] or "text", "text": text})
        return self._message | {"content": content, "usage": self._usage}

    def attributes(self, config: TracerConfig) -> dict[str, Any]:
        return response_attributes(self.message(), config)


MESSAGES = LlmOperation(
    provider=semconv.GenAiProviderName.ANTHROPIC,
    span_name=span_name(semconv.GenAiOperationName.CHAT),
    request_attributes=request_attributes,
    response_attributes=response_attributes,
    new_accumulator=MessagesStreamAccumulator,
)
"""Anthropic ``messages.create`` (sync and async, plain and ``stream=True``)."""


class MessageStreamSnapshot:
    """Reads the final snapshot of an Anthropic ``MessageStream`` (``messages.stream()``) when it closes."""

    def __init__(self) -> None:
        self._message: Any = None

    def add(self, message_stream: Any) -> None:
        try:
            self._message = message_stream.current_message_snapshot
        except AssertionError:  # the helper asserts a snapshot exists: nothing was received
            self._message = None

    def attributes(self, config: TracerConfig) -> dict[str, Any]:
        return response_attributes(self._message, config) if self._message is not None else {}


MESSAGES_STREAM_HELPER = LlmOperation(
    provider=semconv.GenAiProviderName.ANTHROPIC,
    span_name=span_name(semconv.GenAiOperationName.CHAT),
    request_attributes=request_attributes,
    response_attributes=response_attributes,
    new_accumulator=MessageStreamSnapshot,
)
"""Anthropic ``messages.stream()`` (the ``with`` helper; sync and async)."""
