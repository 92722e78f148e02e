"""LLM spans of ``with_raw_response`` / ``with_streaming_response`` calls (OpenAI and Anthropic clients).

Both SDKs run the same ``create`` with an ``X-Stainless-Raw-Response`` header and hand back the HTTP
response object instead of the answer; ``.parse()`` turns it into what a plain call returns (and caches
it). The span records exactly that parsed answer:

- the body was read with the call (``with_raw_response`` without ``stream=True``): the wrapper parses it
  at once, so the span ends with the call like a plain one; the user's ``.parse()`` gets the SDK's cached
  object, so nothing is parsed twice;
- otherwise (``with_streaming_response``, whose body is read only when the user asks, or ``stream=True``)
  the response is handed back behind a proxy: its ``parse()`` records the answer, or hands back the
  stream traced like a plain ``stream=True`` call; its ``close()`` (the ``with`` block's exit) ends the
  span. A body the user read some other way (``.json()``, ``.read()``) is parsed on close; a body never
  read stays unread.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import wrapt
from opentelemetry.trace import Span

from judgeval import semconv
from judgeval._internal_errors import log_internal_error
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._llm_stream import AsyncTracedStream, StreamSpan, TracedStream

if TYPE_CHECKING:
    from judgeval.tracer._llm_operation import LlmOperation

logger = logging.getLogger("judgeval")

RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
"""The header both vendor SDKs add to ask for the response object; ``stream`` means a lazily read body."""


def is_raw_response(result: Any) -> bool:
    """Whether a client call returned the SDK's HTTP response object rather than the answer."""
    return hasattr(result, "http_response") and callable(getattr(result, "parse", None))


def _lazy_body(kwargs: Mapping[str, Any]) -> bool:
    headers = kwargs.get("extra_headers")
    return isinstance(headers, Mapping) and headers.get(RAW_RESPONSE_HEADER) == "stream"


def read_with_call(result: Any, kwargs: Mapping[str, Any]) -> bool:
    """A raw response whose whole answer arrived with the call (no stream, body already read)."""
    return is_raw_response(result) and not kwargs.get("stream") and not _lazy_body(kwargs)


def parse_answer(result: Any, kwargs: Mapping[str, Any]) -> Any:
    """The parsed answer of a synchronous raw response read with the call, else ``None``."""
    if not read_with_call(result, kwargs):
        return None
    try:
        return result.parse()
    except Exception:  # the vendor's parse error is the user's to see when they parse; record nothing
        logger.debug("judgeval could not parse a raw LLM response", exc_info=True)
        return None


async def async_parse_answer(result: Any, kwargs: Mapping[str, Any]) -> Any:
    """:func:`parse_answer` for an async client (OpenAI's raw ``parse`` is sync there, Anthropic's async)."""
    if not read_with_call(result, kwargs):
        return None
    try:
        parsed = result.parse()
        return await parsed if hasattr(parsed, "__await__") else parsed
    except Exception:
        logger.debug("judgeval could not parse a raw LLM response", exc_info=True)
        return None


class _ParsedAnswer:
    """Accumulator of a raw response's parsed (not streamed) answer."""

    def __init__(self, describe: Callable[[Any, TracerConfig], dict[str, Any]]) -> None:
        self._describe = describe
        self.answer: Any = None

    def add(self, answer: Any) -> None:
        self.answer = answer

    def attributes(self, config: TracerConfig) -> dict[str, Any]:
        return self._describe(self.answer, config) if self.answer is not None else {}


class _RawResponseTrace:
    """The span of one raw response handed to the user, and the stream handed out by its ``parse()``."""

    def __init__(self, stream_span: StreamSpan, answer: _ParsedAnswer | None) -> None:
        self.stream_span = stream_span
        self.answer = answer  # None when the request asked for a stream
        self._stream: Any = None
        self._traced_stream: Any = None

    def parsed(self, parsed: Any) -> Any:
        """Record what ``parse()`` returned; a stream is handed back traced (the same proxy every time)."""
        try:
            if self._stream is not None and parsed is self._stream:
                return self._traced_stream
            if self.answer is None and hasattr(parsed, "__next__"):
                self._stream, self._traced_stream = parsed, TracedStream(parsed, self.stream_span)
                return self._traced_stream
            if self.answer is None and hasattr(parsed, "__anext__"):
                self._stream, self._traced_stream = parsed, AsyncTracedStream(parsed, self.stream_span)
                return self._traced_stream
            if self.answer is not None and self.answer.answer is None:
                self.stream_span.observe(parsed)
        except Exception:
            log_internal_error("judgeval could not trace a raw LLM response")
        return parsed

    def wants_read_body(self, response: Any) -> bool:
        """Whether the user read a body that ``parse()`` never saw (``.json()``, ``.read()``, ``.text()``)."""
        if self.answer is None or self.answer.answer is not None:
            return False
        try:
            response.http_response.content  # noqa: B018 - raises if the body was never read
        except Exception:
            return False
        return True

    def end_unless_streaming(self) -> None:
        """On garbage collection: end the span, unless a stream handed out still owns it."""
        if self._traced_stream is None:
            self.stream_span.end()


class TracedRawResponse(wrapt.ObjectProxy):  # type: ignore[misc]
    """A raw response whose ``parse()`` is recorded on the call's span (sync ``parse``)."""

    def __init__(self, response: Any, trace: _RawResponseTrace) -> None:
        super().__init__(response)
        self._self_trace = trace
        weakref.finalize(self, trace.end_unless_streaming)

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = self.__wrapped__.parse(*args, **kwargs)
        return parsed if args or kwargs else self._self_trace.parsed(parsed)

    def close(self) -> None:
        """Close the response (the ``with`` block's exit) and end the span."""
        trace = self._self_trace
        try:
            self.__wrapped__.close()
        finally:
            if trace.wants_read_body(self.__wrapped__):
                try:
                    trace.parsed(self.__wrapped__.parse())
                except Exception:
                    logger.debug("judgeval could not parse a raw LLM response", exc_info=True)
            trace.stream_span.end()


class AsyncTracedRawResponse(TracedRawResponse):
    """The ``async`` twin of :class:`TracedRawResponse` (``async`` ``parse`` and ``close``)."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        parsed = await self.__wrapped__.parse(*args, **kwargs)
        return parsed if args or kwargs else self._self_trace.parsed(parsed)

    async def close(self) -> None:  # type: ignore[override]
        trace = self._self_trace
        try:
            await self.__wrapped__.close()
        finally:
            if trace.wants_read_body(self.__wrapped__):
                try:
                    trace.parsed(await self.__wrapped__.parse())
                except Exception:
                    logger.debug("judgeval could not parse a raw LLM response", exc_info=True)
            trace.stream_span.end()


def finish_raw_response(
    operation: LlmOperation,
    span: Span,
    kwargs: Mapping[str, Any],
    response: Any,
    config: TracerConfig,
    answer: Any,
) -> Any:
    """End the span with ``answer`` (parsed with the call), or hand back a traced proxy of ``response``."""
    if read_with_call(response, kwargs):
        if answer is not None and span.is_recording():
            span.set_attributes(operation.response_attributes(answer, config))
        span.end()
        return response
    streamed = bool(kwargs.get("stream")) and operation.new_accumulator is not None
    if streamed:
        span.set_attribute(semconv.JUDGEVAL_LLM_STREAMED, True)
    parsed_answer = None if streamed else _ParsedAnswer(operation.response_attributes)
    accumulator: Any = operation.new_accumulator() if streamed else parsed_answer  # type: ignore[misc]
    trace = _RawResponseTrace(StreamSpan(span, accumulator, config), parsed_answer)
    if _has_async_parse(response):
        return AsyncTracedRawResponse(response, trace)
    return TracedRawResponse(response, trace)


def _has_async_parse(response: Any) -> bool:
    return inspect.iscoroutinefunction(response.parse)
