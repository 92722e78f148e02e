"""The scopes behind ``@judgment.observe`` (one span per call) and ``@judgment.agent`` (agent context)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.trace import Span, Status, StatusCode, TraceFlags, get_current_span

from judgeval import semconv
from judgeval._internal_errors import log_internal_error
from judgeval.tracer._agent import enter_agent, exit_agent
from judgeval.tracer._capture import to_json, truncate
from judgeval.tracer._config import TracerConfig
from judgeval.tracer._provider import ProviderState
from judgeval.tracer._trajectory_scope import TrajectoryRequester
from judgeval.tracer._wrapping import CallScope, ScopeFactory

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
    def __init__(self, span: Span, config: TracerConfig, current: Span | None = None) -> None:
        self._span = span
        self._current = current if current is not None else span  # a trajectory's marked span, if any
        self._config = config
        # A generator's items, as JSON, until the list is longer than the cap: the yielded objects
        # themselves are not kept alive, and items past the cap (which could not show) cost nothing.
        # Made on the first item: most observed calls are not generators.
        self._item_texts: list[str] | None = None
        self._item_chars: float = 0

    def _capturing(self) -> bool:
        return self._config.capture_content and self._span.is_recording()

    def attach(self) -> object | None:
        # What trace.use_span does with exception recording off, without its two context managers.
        return otel_context.attach(trace.set_span_in_context(self._current))

    def detach(self, token: object | None) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]

    def record_item(self, item: Any) -> None:
        if self._item_chars > self._config.capture_max_chars:
            return
        if self._item_texts is None:
            if not self._capturing():
                self._item_chars = math.inf  # not capturing: every later item returns above
                return
            self._item_texts = []
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
    func: Callable[..., Any],
    tracer: trace.Tracer,
    config: TracerConfig,
    name: str,
    span_type: str,
    provider_state: ProviderState | None = None,
    trajectory: TrajectoryRequester | None = None,
) -> ScopeFactory:
    """The per-call scope factory of ``@observe``: start a span, record inputs, output and errors.

    With ``trajectory`` (``scorer_config=``), each call's span may also bound a trajectory to be scored.
    """
    arguments = argument_recorder(func)
    without_project = span_type_attributes(name, span_type)
    with_project = {semconv.JUDGEVAL_PROJECT_NAME: config.project_name, **without_project}
    # The project is on the resource of a provider judgeval created; it rides on each span too when the
    # resource names another project or none, or when Tracers of several projects share the provider.
    own_resource = provider_state is not None and provider_state.resource_project == config.project_name
    input_before_start = (
        isinstance(tracer, SdkTracer)
        and provider_state is not None
        and provider_state.parent_decides_sampling
    )
    capture, cap = config.capture_content, config.capture_max_chars

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallScope:
        mixed = own_resource and provider_state.mixed_projects  # type: ignore[union-attr]
        static = with_project if not own_resource or mixed else without_project
        if capture and input_before_start and _parent_sampled_or_absent():
            # The span will be recorded: hand the input to start_span with the rest, in one pass.
            span = tracer.start_span(
                name, attributes={**static, semconv.JUDGEVAL_INPUT: to_json(arguments(args, kwargs), cap)}
            )
        else:
            span = tracer.start_span(name, attributes=static)
            if capture and span.is_recording():
                span.set_attribute(semconv.JUDGEVAL_INPUT, to_json(arguments(args, kwargs), cap))
        if trajectory is None:
            return _ObservedCall(span, config)
        return _ObservedCall(span, config, trajectory.current_span_for(span, args, kwargs))

    return begin


def _parent_sampled_or_absent() -> bool:
    # The sampled bit read directly: the is_valid and sampled properties cost more than the test itself.
    parent = get_current_span().get_span_context()
    return not parent.trace_id or bool(parent.trace_flags & TraceFlags.SAMPLED)


def argument_recorder(func: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    """What ``@observe`` records as a call's input: its bound arguments, minus ``self``/``cls``.

    For the common signature (plain positional-or-keyword parameters) the names are read once here and
    zipped per call; anything else (``*args``, ``**kwargs``, keyword-only, a call that will fail) goes
    through ``Signature.bind_partial``, which gives the same dict.
    """
    signature = _signature(func)
    parameters = list(signature.parameters.values()) if signature is not None else []
    simple = signature is not None and all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters)
    names = tuple(p.name for p in parameters)
    skip = frozenset(names) & _RECEIVER_NAMES

    plain = simple and not skip  # no receiver to drop: the fast path below needs no filtering

    def record(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        positional = len(args)
        if plain and not kwargs and positional <= len(names):  # the usual call: f(a, b)
            # Fewer arguments than names is a partial bind; "strict=False" spelled out costs 0.1 µs a call.
            return dict(zip(names, args))  # noqa: B905
        fits = simple and positional <= len(names)
        if not fits or (kwargs and not kwargs.keys() <= set(names[positional:])):
            return _bound_arguments(signature, args, kwargs)
        bound = dict(zip(names, args, strict=False))  # fewer arguments than names: a partial bind
        if kwargs:  # bind_partial orders keyword arguments by the signature, not by the call
            bound.update((n, kwargs[n]) for n in names[positional:] if n in kwargs)
        if skip:
            return {k: v for k, v in bound.items() if k not in skip}
        return bound

    return record


def _bound_arguments(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
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

    def attach(self) -> object | None:
        try:
            return enter_agent(self._owner, self._identifier)
        except Exception:
            log_internal_error("judgeval could not set the agent context")
            return None

    def detach(self, token: object | None) -> None:
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
