"""One implementation of LLM-call spans, shared by ``wrap(client)`` and ``JudgevalInstrumentor``.

An :class:`LlmOperation` says how to name and describe one kind of call (OpenAI chat completions,
Responses, embeddings, Anthropic messages). :func:`llm_wrapper` / :func:`async_llm_wrapper` turn it into a
function with ``wrapt``'s wrapper signature ``(wrapped, instance, args, kwargs)``: the instrumentor hands
it to ``wrapt.wrap_function_wrapper`` for a whole class, ``wrap()`` applies it to one client instance.

Each call becomes a CLIENT span. A streamed call returns a transparent proxy of the stream whose span ends
when the stream is exhausted, closed or garbage-collected (see ``_llm_stream``). The user's exception is
recorded and re-raised unchanged; our own failures are logged and never reach the caller (under pytest they
do: :mod:`judgeval._internal_errors`).

No call is traced twice: while a traced call runs, a context flag makes any inner judgeval wrapper (e.g.
``wrap()`` on a client whose class the instrumentor already patched) call straight through. Calls defer
to another active OpenAI/Anthropic instrumentation (official, OpenInference, OpenLLMetry; see
``_coexistence``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind

from judgeval import semconv
from judgeval._internal_errors import log_internal_error
from judgeval.tracer._coexistence import defer_to_other_instrumentation
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._decorators import record_error
from judgeval.tracer._llm_operation import LlmOperation
from judgeval.tracer._llm_raw_response import (
    async_parse_answer,
    finish_raw_response,
    is_raw_response,
    parse_answer,
)
from judgeval.tracer._llm_stream import (
    AsyncTracedStream,
    AsyncTracedStreamManager,
    StreamSpan,
    TracedStream,
    TracedStreamManager,
)

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]
_IN_LLM_CALL = otel_context.create_key("judgeval-llm-call")
# Request arguments that carry content we record and that callers may pass as any iterable.
_CONTENT_ARGUMENTS = ("messages", "input", "tools", "system", "stop", "stop_sequences")


def _should_trace(operation: LlmOperation, wrapped: Any, instance: Any) -> bool:
    if otel_context.get_value(_IN_LLM_CALL) or not is_instrumentation_enabled():
        return False
    return not defer_to_other_instrumentation(operation.provider, wrapped, instance)


def _materialize_one_shot_iterators(kwargs: dict[str, Any]) -> None:
    """Read content passed as a one-shot iterator (e.g. a generator of messages) into a list, in place.

    Recording the request iterates it; without this the vendor SDK would then find it empty.
    """
    for key in _CONTENT_ARGUMENTS:
        value = kwargs.get(key)
        if isinstance(value, Iterator):
            kwargs[key] = value = list(value)
        if key == "messages" and isinstance(value, list):
            for message in value:
                if isinstance(message, dict) and isinstance(message.get("content"), Iterator):
                    message["content"] = list(message["content"])


def _start_span(
    operation: LlmOperation,
    tracer: trace.Tracer,
    call: tuple[Callable[..., Any], Any],
    kwargs: dict[str, Any],
    config: TracerConfig,
) -> Span | None:
    """The span of ``call`` (the wrapped method and its instance), or ``None`` when it must not be traced
    (or tracing failed)."""
    span: Span | None = None
    try:
        if not _should_trace(operation, *call):
            return None
        _materialize_one_shot_iterators(kwargs)
        span = tracer.start_span(operation.span_name(kwargs), kind=SpanKind.CLIENT)
        if span.is_recording():
            span.set_attributes(operation.request_attributes(kwargs, config))
        return span
    except Exception:
        log_internal_error("judgeval could not start an LLM span; calling untraced")
        if span is not None:
            span.end()
        return None


def _enter_call(span: Span) -> object:
    context = trace.set_span_in_context(span)
    return otel_context.attach(otel_context.set_value(_IN_LLM_CALL, True, context))


def _fail(span: Span, error: BaseException) -> None:
    try:
        record_error(span, error)
    except Exception:
        log_internal_error("judgeval could not record an LLM call's error")
    finally:
        span.end()


def _is_stream(result: Any, kwargs: Mapping[str, Any]) -> bool:
    # ``with_raw_response`` returns an HTTP response object even with stream=True; that is not a stream.
    return bool(kwargs.get("stream")) and (hasattr(result, "__next__") or hasattr(result, "__anext__"))


def _finish(
    operation: LlmOperation,
    span: Span,
    kwargs: Mapping[str, Any],
    result: Any,
    config: TracerConfig,
    raw_answer: Any = None,
) -> Any:
    """End the span with the response, or hand back a traced proxy of a stream or raw response.

    ``raw_answer`` is the parsed answer of a raw response whose body came with the call (see
    ``_llm_raw_response``), parsed by the caller since an async client's ``parse`` is a coroutine.
    """
    try:
        if is_raw_response(result):
            return finish_raw_response(operation, span, kwargs, result, config, raw_answer)
        if _is_stream(result, kwargs) and operation.new_accumulator is not None:
            span.set_attribute(semconv.JUDGEVAL_LLM_STREAMED, True)
            stream_span = StreamSpan(span, operation.new_accumulator(), config)
            if hasattr(result, "__anext__"):
                return AsyncTracedStream(result, stream_span)
            return TracedStream(result, stream_span)
        if span.is_recording():
            span.set_attributes(operation.response_attributes(result, config))
        span.end()
    except Exception:
        log_internal_error("judgeval could not record an LLM call")
        if span.is_recording():
            span.end()
    return result


def llm_wrapper(operation: LlmOperation, tracer: trace.Tracer, config: TracerConfig) -> Wrapper:
    """A wrapt-style wrapper tracing a synchronous LLM call described by ``operation``."""

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        span = _start_span(operation, tracer, (wrapped, instance), kwargs, config)
        if span is None:
            return wrapped(*args, **kwargs)
        token = _enter_call(span)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(span, exc)
            raise
        finally:
            otel_context.detach(token)  # type: ignore[arg-type]
        return _finish(operation, span, kwargs, result, config, parse_answer(result, kwargs))

    return wrapper


def async_llm_wrapper(operation: LlmOperation, tracer: trace.Tracer, config: TracerConfig) -> Wrapper:
    """A wrapt-style wrapper tracing an ``async`` LLM call described by ``operation``."""

    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        span = _start_span(operation, tracer, (wrapped, instance), kwargs, config)
        if span is None:
            return await wrapped(*args, **kwargs)
        token = _enter_call(span)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(span, exc)
            raise
        finally:
            otel_context.detach(token)  # type: ignore[arg-type]
        return _finish(operation, span, kwargs, result, config, await async_parse_answer(result, kwargs))

    return wrapper


def stream_manager_wrapper(operation: LlmOperation, tracer: trace.Tracer, config: TracerConfig) -> Wrapper:
    """A wrapt-style wrapper for a method returning a ``with``-only stream manager (sync or async).

    ``operation.new_accumulator`` receives the helper's stream object once, when the block exits.
    """

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        span = _start_span(operation, tracer, (wrapped, instance), kwargs, config)
        if span is None or operation.new_accumulator is None:
            return wrapped(*args, **kwargs)
        try:
            manager = wrapped(*args, **kwargs)  # builds the request; it is sent on __enter__
        except BaseException as exc:
            _fail(span, exc)
            raise
        try:
            span.set_attribute(semconv.JUDGEVAL_LLM_STREAMED, True)
            stream_span = StreamSpan(span, operation.new_accumulator(), config)
            if hasattr(manager, "__aenter__"):
                return AsyncTracedStreamManager(manager, stream_span)
            return TracedStreamManager(manager, stream_span)
        except Exception:
            log_internal_error("judgeval could not trace a stream helper")
            span.end()
            return manager

    return wrapper
