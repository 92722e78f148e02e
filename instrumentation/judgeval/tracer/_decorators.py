"""The scopes behind ``@judgment.observe`` (one span per call) and ``@judgment.agent`` (agent context)."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from judgeval import semconv
from judgeval.tracer._agent import enter_agent, exit_agent
from judgeval.tracer._capture import to_json, truncate
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._wrapping import CallScope, ScopeFactory

logger = logging.getLogger("judgeval")

_RECEIVER_NAMES = frozenset({"self", "cls"})


def record_error(span: Span, error: BaseException) -> None:
    """Mark ``span`` failed by ``error`` (the user's exception is re-raised by the caller)."""
    span.record_exception(error, escaped=True)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span.set_attribute(semconv.ERROR_TYPE, type(error).__qualname__)


def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def span_type_attributes(name: str, span_type: str) -> dict[str, str]:
    """``judgeval.span.type`` plus the GenAI operation it maps to, if any."""
    attributes = {semconv.JUDGEVAL_SPAN_TYPE: span_type}
    operation = semconv.SPAN_TYPE_TO_OPERATION.get(span_type)
    if operation is not None:
        attributes[semconv.GEN_AI_OPERATION_NAME] = operation.value
        if operation is semconv.GenAiOperationName.EXECUTE_TOOL:
            attributes[semconv.GEN_AI_TOOL_NAME] = name
    return attributes


class _ObservedCall(CallScope):
    def __init__(self, span: Span, config: TracerConfig) -> None:
        self._span = span
        self._config = config
        # A generator's items, as JSON, until the list is longer than the cap: the yielded objects
        # themselves are not kept alive, and items past the cap (which could not show) cost nothing.
        self._item_texts: list[str] | None = [] if self._capturing() else None
        self._item_chars = 0

    def _capturing(self) -> bool:
        return self._config.capture_content and self._span.is_recording()

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        with trace.use_span(self._span, record_exception=False, set_status_on_exception=False):
            yield

    def record_item(self, item: Any) -> None:
        if self._item_texts is None or self._item_chars > self._config.capture_max_chars:
            return
        text = to_json(item, self._config.capture_max_chars)
        self._item_texts.append(text)
        self._item_chars += len(text) + 2  # the ", " separating items in the JSON list

    def _output(self, result: Any) -> str:
        cap = self._config.capture_max_chars
        if self._item_texts:  # the same text json.dumps gives for the list, then capped
            return truncate("[" + ", ".join(self._item_texts) + "]", cap)
        return to_json(result, cap)

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        try:
            if error is not None and not isinstance(error, GeneratorExit):
                record_error(self._span, error)
            elif self._capturing():
                self._span.set_attribute(semconv.JUDGEVAL_OUTPUT, self._output(result))
        finally:
            self._span.end()


def observe_scope(
    func: Callable[..., Any], tracer: trace.Tracer, config: TracerConfig, name: str, span_type: str
) -> ScopeFactory:
    """The per-call scope factory of ``@observe``: start a span, record inputs, output and errors."""
    signature = _signature(func)
    # The project rides on each span too: several Tracers (projects) may share one provider and resource.
    static_attributes = {
        semconv.JUDGEVAL_PROJECT_NAME: config.project_name,
        **span_type_attributes(name, span_type),
    }

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallScope:
        span = tracer.start_span(name, attributes=static_attributes)
        if config.capture_content and span.is_recording():
            span.set_attribute(
                semconv.JUDGEVAL_INPUT, to_json(_arguments(signature, args, kwargs), config.capture_max_chars)
            )
        return _ObservedCall(span, config)

    return begin


def _arguments(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if signature is None:
        return {"args": list(args), "kwargs": kwargs}
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:  # the call itself will raise the user's TypeError; just record what was passed
        return {"args": list(args), "kwargs": kwargs}
    return {k: v for k, v in bound.arguments.items() if k not in _RECEIVER_NAMES}


class _AgentCall(CallScope):
    def __init__(self, owner: Any, identifier: str | None) -> None:
        self._owner = owner
        self._identifier = identifier

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        token = None
        try:
            token = enter_agent(self._owner, self._identifier)
        except Exception:
            logger.exception("judgeval could not set the agent context")
        try:
            yield
        finally:
            exit_agent(token)


def agent_scope(func: Callable[..., Any], identifier: str | None) -> ScopeFactory:
    """The per-call scope factory of ``@agent``: the agent is the bound instance (or the function)."""
    signature = _signature(func)
    params = list(signature.parameters) if signature is not None else []
    is_method = bool(params) and params[0] in _RECEIVER_NAMES

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallScope:
        owner = args[0] if is_method and args else func
        return _AgentCall(owner, identifier)

    return begin
