"""Length-prefixed JSON frames between the evaluator and a sandbox worker.

Each frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. The worker's protocol
pipe is separate from the file user code prints to, so a scorer's output can never corrupt a frame.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

from evaluator_service.errors import EvaluatorError

MAX_FRAME_BYTES = 16 * 1024 * 1024
SCORE_TRACE = "score_trace"
"""The ``op`` of a request that scores a whole trajectory (``"trace"``: ``Trace.to_json_data()``) with a
``TraceScorer``'s ``a_score_trace``; a request without ``op`` scores an example."""
_HEADER = struct.Struct(">I")
_BATCH_OVERHEAD = len(b'{"requests":[]}')


class ProtocolError(EvaluatorError):
    """The peer sent something that is not a frame, or closed the pipe."""


def encode_frame(message: dict[str, Any]) -> bytes:
    payload = json.dumps(message, default=str, separators=(",", ":")).encode()
    if len(payload) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME_BYTES}")
    return _HEADER.pack(len(payload)) + payload


@dataclass(frozen=True, slots=True)
class EncodedJson:
    """A request value already encoded as JSON, spliced into the request as is: a large value (a whole
    trajectory) can then be encoded off the event loop, once."""

    data: bytes


def encode_request(request: dict[str, Any]) -> bytes:
    """One request's JSON for :func:`encode_request_frames`; :class:`ProtocolError` if no frame holds it.
    Values that are :class:`EncodedJson` go in as they are."""
    plain = {k: v for k, v in request.items() if not isinstance(v, EncodedJson)}
    payload = json.dumps(plain, default=str, separators=(",", ":")).encode()
    encoded = [(k, v.data) for k, v in request.items() if isinstance(v, EncodedJson)]
    if encoded:
        parts = [json.dumps(k).encode() + b":" + data for k, data in encoded]
        payload = payload[:-1] + (b"," if plain else b"") + b",".join(parts) + b"}"
    if len(payload) + _BATCH_OVERHEAD > MAX_FRAME_BYTES:
        raise ProtocolError(f"request of {len(payload)} bytes exceeds {MAX_FRAME_BYTES}")
    return payload


def encode_request_frames(requests: list[bytes]) -> list[bytes]:
    """Frames ``{"requests": [...]}`` carrying the given JSON-encoded requests, as few as fit under
    :data:`MAX_FRAME_BYTES` (each request must fit on its own)."""
    frames: list[bytes] = []
    batch: list[bytes] = []
    size = 0
    for part in requests:
        if batch and size + len(part) + len(batch) + _BATCH_OVERHEAD > MAX_FRAME_BYTES:
            frames.append(_request_frame(batch))
            batch, size = [], 0
        batch.append(part)
        size += len(part)
    if batch:
        frames.append(_request_frame(batch))
    return frames


def _request_frame(parts: list[bytes]) -> bytes:
    payload = b'{"requests":[' + b",".join(parts) + b"]}"
    return _HEADER.pack(len(payload)) + payload


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        message = json.loads(payload)
    except ValueError as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    return message


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """Read one frame (evaluator side)."""
    try:
        header = await reader.readexactly(_HEADER.size)
        (length,) = _HEADER.unpack(header)
        if length > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
        return _decode(await reader.readexactly(length))
    except asyncio.IncompleteReadError:
        raise ProtocolError("the worker closed its pipe") from None


def read_frame_fd(fd: int) -> dict[str, Any] | None:
    """Read one frame from a blocking file descriptor (worker side); ``None`` at end of input."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    payload = _read_exactly(fd, length)
    if payload is None:
        raise ProtocolError("input ended inside a frame")
    return _decode(payload)


def write_frame_fd(fd: int, message: dict[str, Any]) -> None:
    data = memoryview(encode_frame(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
