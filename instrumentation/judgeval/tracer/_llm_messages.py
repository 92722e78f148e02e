"""OpenAI chat messages → GenAI semantic-convention message JSON (``gen_ai.input/output.messages``).

The structure is the current convention's: ``[{"role": ..., "parts": [{"type": "text", "content": ...},
{"type": "tool_call", "id": ..., "name": ..., "arguments": ...}, ...]}]``. Each text part is capped at the
configured size, so the attribute stays valid JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from judgeval import semconv
from judgeval.tracer._capture import truncate


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def capped_json(value: Any, max_chars: int) -> str:
    """JSON of ``value`` in at most ``max_chars``, kept parseable where possible.

    Parts are capped first. A list still too long (a long conversation) loses its oldest items, whole, so
    the attribute stays valid JSON with the newest messages; only a single oversized item is cut.
    """
    text = _dumps(value)
    if len(text) <= max_chars or not isinstance(value, list) or len(value) < 2:
        return truncate(text, max_chars)
    items = [_dumps(item) for item in value]
    size = len(text)  # "[" + items joined by ", " + "]"
    first = 0
    while first < len(items) - 1 and size > max_chars:
        size -= len(items[first]) + 2
        first += 1
    return truncate("[" + ", ".join(items[first:]) + "]", max_chars)


def token_usage_attributes(
    input_tokens: Any, output_tokens: Any, cache_read_tokens: Any = None, cache_creation_tokens: Any = None
) -> dict[str, int]:
    """The ``gen_ai.usage.*`` attributes whose counts the provider reported (non-integers are skipped)."""
    counts = {
        semconv.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
        semconv.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
        semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: cache_read_tokens,
        semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: cache_creation_tokens,
    }
    return {
        key: value for key, value in counts.items() if isinstance(value, int) and not isinstance(value, bool)
    }


def text_parts(text: Any, max_chars: int) -> list[dict[str, Any]]:
    """``[{"type": "text", "content": ...}]`` for a string, ``[]`` for anything else."""
    return [{"type": "text", "content": truncate(text, max_chars)}] if isinstance(text, str) and text else []


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _tool_call_parts(tool_calls: Iterable[Any] | None, max_chars: int) -> list[dict[str, Any]]:
    parts = []
    for call in tool_calls or ():
        function = _get(call, "function") or {}
        arguments = _get(function, "arguments")
        if isinstance(arguments, str):
            arguments = truncate(arguments, max_chars)
        parts.append(
            {
                "type": "tool_call",
                "id": _get(call, "id"),
                "name": _get(function, "name"),
                "arguments": _arguments(arguments),
            }
        )
    return parts


def _content_parts(content: Any, max_chars: int) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": truncate(content, max_chars)}]
    parts: list[dict[str, Any]] = []
    for item in content:
        kind = _get(item, "type", "text")
        if kind in ("text", "input_text", "output_text"):
            parts.append({"type": "text", "content": truncate(str(_get(item, "text", "")), max_chars)})
        else:
            parts.append({"type": str(kind)})  # images/audio/files: record the kind, not the bytes
    return parts


def tool_response(value: Any, max_chars: int) -> Any:
    """A tool's result: capped text, or content parts (kinds and capped text, never image bytes)."""
    if isinstance(value, str):
        return truncate(value, max_chars)
    if isinstance(value, list | tuple):
        return _content_parts(value, max_chars)
    return value


def input_messages(messages: Iterable[Any], max_chars: int) -> list[dict[str, Any]]:
    """The request's ``messages`` in the semantic-convention structure."""
    out = []
    for message in messages:
        role = str(_get(message, "role", "user"))
        if role == "tool":
            parts: list[dict[str, Any]] = [
                {
                    "type": "tool_call_response",
                    "id": _get(message, "tool_call_id"),
                    "response": tool_response(_get(message, "content"), max_chars),
                }
            ]
        else:
            parts = _content_parts(_get(message, "content"), max_chars)
            parts += _tool_call_parts(_get(message, "tool_calls"), max_chars)
        out.append({"role": role, "parts": parts})
    return out


def output_messages(choices: Iterable[Any], max_chars: int) -> list[dict[str, Any]]:
    """The response's choices in the semantic-convention structure."""
    out = []
    for choice in choices:
        message = _get(choice, "message")
        parts = _content_parts(_get(message, "content"), max_chars)
        parts += _tool_call_parts(_get(message, "tool_calls"), max_chars)
        out.append(
            {
                "role": str(_get(message, "role", "assistant")),
                "parts": parts,
                "finish_reason": _get(choice, "finish_reason") or "stop",
            }
        )
    return out
