"""The wire format of recorded answers: response bodies and server-sent event sequences, one API each.

:mod:`judgeval.testing.openai_server` picks a :class:`~judgeval.testing.recording.Recording` for a request
and sends what these functions build: OpenAI chat completions (plain and ``chat.completion.chunk`` streams),
the OpenAI Responses API (plain and the ``response.*`` event stream) and Anthropic messages (plain and the
``message_start`` … ``message_stop`` event stream). Streams are lists of ``(event name or None, data)``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judgeval.testing.recording import Recording

SseEvent = tuple[str | None, dict[str, Any]]


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: whitespace-separated words, at least one."""
    return max(1, len(text.split()))


def _words(answer: str) -> list[str]:
    return [w if i == 0 else " " + w for i, w in enumerate(answer.split(" "))] if answer else []


# --- OpenAI chat completions ------------------------------------------------------------------------


def chat_completion(body: dict[str, Any], rec: Recording, prompt_tokens: int) -> dict[str, Any]:
    """A ``chat.completion`` object answering ``body`` with ``rec``."""
    message: dict[str, Any] = {"role": "assistant", "content": rec.answer or None}
    if rec.tool_calls:
        message["tool_calls"] = rec.tool_calls
    completion_tokens = count_tokens(rec.answer) if rec.answer else 1
    return {
        "id": f"chatcmpl-replay-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "replay"),
        "choices": [{"index": 0, "message": message, "finish_reason": rec.finish_reason, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": rec.cached_tokens},
        },
    }


def chat_chunks(completion: dict[str, Any], rec: Recording, body: dict[str, Any]) -> list[SseEvent]:
    """The ``chat.completion.chunk`` events of ``completion``: text word by word, tool calls in pieces."""
    base = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": word} for word in _words(rec.answer)]
    for index, call in enumerate(rec.tool_calls or []):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        head = {"index": index, "id": call["id"], "type": "function"}
        deltas.append(
            {"tool_calls": [head | {"function": {"name": call["function"]["name"], "arguments": ""}}]}
        )
        for piece in (arguments[:half], arguments[half:]):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    events: list[SseEvent] = [
        (None, base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}) for delta in deltas
    ]
    if rec.stream_error:
        return [*events[:2], (None, {"error": {"message": rec.stream_error, "type": "server_error"}})]
    events.append((None, base | {"choices": [{"index": 0, "delta": {}, "finish_reason": rec.finish_reason}]}))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append((None, base | {"choices": [], "usage": completion["usage"]}))
    return events


# --- OpenAI Responses API ---------------------------------------------------------------------------


def _response_output(rec: Recording) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if rec.answer:
        output.append(
            {
                "type": "message",
                "id": "msg_replay",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": rec.answer, "annotations": []}],
            }
        )
    for call in rec.tool_calls or []:
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{call['id']}",
                "call_id": call["id"],
                "status": "completed",
                "name": call["function"]["name"],
                "arguments": call["function"]["arguments"],
            }
        )
    return output


def response_object(body: dict[str, Any], rec: Recording, prompt_tokens: int) -> dict[str, Any]:
    """A completed ``response`` object answering ``body`` with ``rec``."""
    output = _response_output(rec)
    output_tokens = count_tokens(rec.answer) if rec.answer else 1
    return {
        "id": f"resp_replay_{time.monotonic_ns()}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": body.get("model", "replay"),
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "usage": {
            "input_tokens": prompt_tokens,
            "output_tokens": output_tokens,
            "total_tokens": prompt_tokens + output_tokens,
            "input_tokens_details": {"cached_tokens": rec.cached_tokens},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def response_events(response: dict[str, Any]) -> list[SseEvent]:
    """The Responses API event stream that ends in ``response``."""
    in_progress = response | {"status": "in_progress", "output": [], "usage": None}
    events: list[SseEvent] = [
        ("response.created", {"response": in_progress}),
        ("response.in_progress", {"response": in_progress}),
    ]
    for index, item in enumerate(response["output"]):
        events.append(("response.output_item.added", {"output_index": index, "item": item}))
        if item["type"] == "message":
            text = item["content"][0]["text"]
            for word in _words(text):
                events.append(
                    (
                        "response.output_text.delta",
                        {
                            "output_index": index,
                            "content_index": 0,
                            "item_id": item["id"],
                            "delta": word,
                            "logprobs": [],
                        },
                    )
                )
            events.append(
                (
                    "response.output_text.done",
                    {
                        "output_index": index,
                        "content_index": 0,
                        "item_id": item["id"],
                        "text": text,
                        "logprobs": [],
                    },
                )
            )
        events.append(("response.output_item.done", {"output_index": index, "item": item}))
    events.append(("response.completed", {"response": response}))
    return [(name, data | {"type": name, "sequence_number": n}) for n, (name, data) in enumerate(events)]


# --- Anthropic messages ------------------------------------------------------------------------------


def anthropic_message(body: dict[str, Any], rec: Recording, prompt_tokens: int) -> dict[str, Any]:
    """An Anthropic ``message`` object answering ``body`` with ``rec``."""
    content: list[dict[str, Any]] = [{"type": "text", "text": rec.answer}] if rec.answer else []
    for call in rec.tool_calls or []:
        arguments = json.loads(call["function"]["arguments"] or "{}")
        content.append(
            {"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": arguments}
        )
    return {
        "id": f"msg_replay_{time.monotonic_ns()}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "replay"),
        "content": content,
        "stop_reason": "tool_use" if rec.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt_tokens,
            "output_tokens": count_tokens(rec.answer) if rec.answer else 1,
            "cache_read_input_tokens": rec.cached_tokens,
            "cache_creation_input_tokens": 0,
        },
    }


def anthropic_events(message: dict[str, Any]) -> list[SseEvent]:
    """The Anthropic messages event stream that builds ``message``."""
    usage = message["usage"]
    start = message | {"content": [], "stop_reason": None, "usage": usage | {"output_tokens": 1}}
    events: list[SseEvent] = [("message_start", {"message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(
                ("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
            )
            deltas = [{"type": "text_delta", "text": word} for word in _words(block["text"])]
        else:
            events.append(("content_block_start", {"index": index, "content_block": block | {"input": {}}}))
            arguments = json.dumps(block["input"])
            half = len(arguments) // 2
            deltas = [
                {"type": "input_json_delta", "partial_json": p} for p in (arguments[:half], arguments[half:])
            ]
        events += [("content_block_delta", {"index": index, "delta": delta}) for delta in deltas]
        events.append(("content_block_stop", {"index": index}))
    events.append(
        (
            "message_delta",
            {
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {}))
    return [(name, data | {"type": name}) for name, data in events]
