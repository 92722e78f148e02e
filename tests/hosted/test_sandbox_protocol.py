"""The frames between the evaluator and a sandbox worker: requests queued together share a frame, and
never a frame over the size limit."""

from __future__ import annotations

import asyncio
import json

import pytest

from evaluator_service.sandbox import protocol


async def decode_all(frames: list[bytes]) -> list[dict]:
    reader = asyncio.StreamReader()
    reader.feed_data(b"".join(frames))
    reader.feed_eof()
    return [await protocol.read_frame(reader) for _ in frames]


async def test_requests_share_frames_up_to_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "MAX_FRAME_BYTES", 200)  # room for three of these requests
    requests = [{"id": i, "example": {"response": "x" * 20}} for i in range(6)]
    frames = protocol.encode_request_frames([protocol.encode_request(r) for r in requests])
    assert len(frames) == 2
    assert all(len(frame) - 4 <= 200 for frame in frames)
    decoded = await decode_all(frames)
    assert [r for frame in decoded for r in frame["requests"]] == requests


def test_a_request_too_large_for_any_frame_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "MAX_FRAME_BYTES", 120)
    with pytest.raises(protocol.ProtocolError, match="exceeds 120"):
        protocol.encode_request({"id": 1, "example": {"response": "x" * 200}})
    assert json.loads(protocol.encode_request({"id": 2})) == {"id": 2}
