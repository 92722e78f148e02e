"""Transparent proxies for streamed LLM responses whose span ends when the stream does.

The proxy forwards everything (iteration, ``with``, ``.response``, any attribute) to the client's own
stream object, observing each chunk on the way. The span ends exactly once, with what was received: when
the stream is exhausted, raises, is closed, leaves its ``with`` block, or is garbage-collected unread
(``weakref.finalize``), so an abandoned stream never leaks an open span.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Protocol

import wrapt
from opentelemetry.trace import Span

from judgeval._internal_errors import log_internal_error
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._decorators import record_error


class StreamAccumulator(Protocol):
    """Collects a stream's chunks/events and describes what was received so far as span attributes."""

    def add(self, item: Any) -> None: ...

    def attributes(self, config: TracerConfig) -> dict[str, Any]: ...


class StreamSpan:
    """The span of one streamed call and the accumulator of what it has received; ends once."""

    def __init__(self, span: Span, accumulator: StreamAccumulator, config: TracerConfig) -> None:
        self._span = span
        self._accumulator = accumulator
        self._config = config
        self._lock = threading.Lock()
        self._ended = False

    def observe(self, item: Any) -> None:
        """Feed one chunk/event to the accumulator."""
        try:
            self._accumulator.add(item)
        except Exception:
            log_internal_error("judgeval could not record a stream chunk")

    def end(self, error: BaseException | None = None) -> None:
        """Record what was received (and ``error``, if the stream failed) and end the span, once."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        try:
            if self._span.is_recording():
                self._span.set_attributes(self._accumulator.attributes(self._config))
            if error is not None:
                record_error(self._span, error)
        except Exception:
            log_internal_error("judgeval could not record a streamed LLM response")
        finally:
            self._span.end()


class TracedStream(wrapt.ObjectProxy):  # type: ignore[misc]
    """A synchronous stream (``openai.Stream``, ``anthropic.Stream``) whose span ends with it."""

    def __init__(self, stream: Any, stream_span: StreamSpan) -> None:
        super().__init__(stream)
        self._self_stream_span = stream_span
        weakref.finalize(self, stream_span.end)

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self.__wrapped__)
        except StopIteration:
            self._self_stream_span.end()
            raise
        except BaseException as exc:
            self._self_stream_span.end(exc)
            raise
        self._self_stream_span.observe(item)
        return item

    def __enter__(self) -> TracedStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_stream_span.end()

    def close(self) -> None:
        """Close the underlying stream and end the span."""
        try:
            self.__wrapped__.close()
        finally:
            self._self_stream_span.end()


class AsyncTracedStream(wrapt.ObjectProxy):  # type: ignore[misc]
    """An asynchronous stream (``openai.AsyncStream``, ``anthropic.AsyncStream``) whose span ends with it."""

    def __init__(self, stream: Any, stream_span: StreamSpan) -> None:
        super().__init__(stream)
        self._self_stream_span = stream_span
        weakref.finalize(self, stream_span.end)

    def __aiter__(self) -> AsyncTracedStream:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_stream_span.end()
            raise
        except BaseException as exc:
            self._self_stream_span.end(exc)
            raise
        self._self_stream_span.observe(item)
        return item

    async def __aenter__(self) -> AsyncTracedStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_stream_span.end()

    async def close(self) -> None:
        """Close the underlying stream and end the span."""
        try:
            await self.__wrapped__.close()
        finally:
            self._self_stream_span.end()

    async def aclose(self) -> None:
        """Alias of :meth:`close`, as on ``openai.AsyncStream``."""
        await self.close()


class TracedStreamManager(wrapt.ObjectProxy):  # type: ignore[misc]
    """A ``with``-only stream helper (Anthropic ``messages.stream()``); the span covers the ``with`` block.

    The helper sends its request on ``__enter__`` and keeps its own snapshot of the message, which is
    recorded when the block exits (or the manager is garbage-collected unused).
    """

    def __init__(self, manager: Any, stream_span: StreamSpan) -> None:
        super().__init__(manager)
        self._self_stream_span = stream_span
        self._self_stream: Any = None
        weakref.finalize(self, stream_span.end)

    def __enter__(self) -> Any:
        try:
            self._self_stream = self.__wrapped__.__enter__()
        except BaseException as exc:
            self._self_stream_span.end(exc)
            raise
        return self._self_stream

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_stream_span.observe(self._self_stream)
            self._self_stream_span.end()


class AsyncTracedStreamManager(TracedStreamManager):
    """The ``async with`` twin of :class:`TracedStreamManager`."""

    async def __aenter__(self) -> Any:
        try:
            self._self_stream = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            self._self_stream_span.end(exc)
            raise
        return self._self_stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_stream_span.observe(self._self_stream)
            self._self_stream_span.end()
