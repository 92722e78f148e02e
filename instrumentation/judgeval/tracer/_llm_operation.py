"""What the LLM span wrapper needs to know about one kind of vendor call (chat, Responses, messages, ...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from judgeval import semconv
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._llm_stream import StreamAccumulator


@dataclass(frozen=True, slots=True)
class LlmOperation:
    """How to trace one kind of LLM call."""

    provider: semconv.GenAiProviderName
    span_name: Callable[[Mapping[str, Any]], str]
    request_attributes: Callable[[Mapping[str, Any], TracerConfig], dict[str, Any]]
    response_attributes: Callable[[Any, TracerConfig], dict[str, Any]]
    new_accumulator: Callable[[], StreamAccumulator] | None = None
