"""What the recorded OpenAI-compatible server answers: :class:`Recording` and the shipped recordings.

Its own module so that :mod:`judgeval.testing.openai_server` (which picks a recording for a request) and
:mod:`judgeval.testing.recorded_wire` (which turns it into wire bodies) both depend on it, not on each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["Recording", "default_recordings", "load_recordings"]


@dataclass
class Recording:
    """One recorded answer and when to give it."""

    match: list[str] = field(default_factory=list)
    answer: str = ""
    status: int = 200
    times: int | None = None
    delay_ms: int = 0
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str = "stop"
    cached_tokens: int = 0
    stream_error: str | None = None
    """If set, a chat stream sends one chunk and then this error event instead of the rest."""

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Recording:
        match = obj.get("match", [])
        return cls(
            match=[match] if isinstance(match, str) else list(match),
            answer=obj.get("answer", ""),
            status=int(obj.get("status", 200)),
            times=obj.get("times"),
            delay_ms=int(obj.get("delay_ms", 0)),
            tool_calls=obj.get("tool_calls"),
            finish_reason=obj.get("finish_reason", "tool_calls" if obj.get("tool_calls") else "stop"),
            cached_tokens=int(obj.get("cached_tokens", 0)),
            stream_error=obj.get("stream_error"),
        )

    def matches(self, text: str) -> bool:
        lowered = text.lower()
        return all(m.lower() in lowered for m in self.match)


def default_recordings() -> list[Recording]:
    """The recordings shipped with the package: the docs' examples and the built-in judges."""
    raw = resources.files("judgeval.testing").joinpath("recordings.json").read_text(encoding="utf-8")
    return [Recording.from_json(o) for o in json.loads(raw)]


def load_recordings(path: str | Path) -> list[Recording]:
    return [Recording.from_json(o) for o in json.loads(Path(path).read_text(encoding="utf-8"))]
