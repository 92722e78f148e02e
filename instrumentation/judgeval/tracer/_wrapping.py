"""One wrapping machinery for ``@observe`` and ``@agent``: sync, async, generator and async generator.

A decorator supplies a ``begin(args, kwargs) -> CallScope`` factory. The wrapper opens one scope per call,
activates it (makes its span/agent current) only while the user's code runs — for generators, around each
step, so the scope never leaks into the consumer's code between ``yield``s — and finishes it with the
result or the exception. The user's exception is always re-raised unchanged; a failure of our own code is
logged and the call proceeds untraced (re-raised under pytest: :mod:`judgeval._internal_errors`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from typing import Any

from judgeval._internal_errors import log_internal_error


class CallScope:
    """What a decorator does around one call; the defaults do nothing."""

    def attach(self) -> object | None:
        """Make this scope current; returns the token for :meth:`detach`. Must not raise."""
        return None

    def detach(self, token: object | None) -> None:
        """Undo :meth:`attach`."""

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Make this scope current while the user's code runs (generators: around each step)."""
        token = self.attach()
        try:
            yield
        finally:
            self.detach(token)

    def record_item(self, item: Any) -> None:
        """Called with each item a generator yields."""

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        """Called exactly once, when the call (or the generator's iteration) is over."""


ScopeFactory = Callable[[tuple[Any, ...], dict[str, Any]], CallScope]


def _safe_begin(begin: ScopeFactory, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallScope:
    try:
        return begin(args, kwargs)
    except Exception:  # our bug must not break the user's call
        log_internal_error("judgeval could not start tracing a call; running it untraced")
        return CallScope()


def _safe_finish(scope: CallScope, result: Any = None, error: BaseException | None = None) -> None:
    try:
        scope.finish(result, error)
    except Exception:
        log_internal_error("judgeval could not finish tracing a call")


def wrap_callable(func: Callable[..., Any], begin: ScopeFactory) -> Callable[..., Any]:
    """Return a wrapper of ``func`` of the same kind (sync/async/generator) that runs scopes around calls."""
    if inspect.isasyncgenfunction(func):
        return _wrap_async_generator(func, begin)
    if inspect.isgeneratorfunction(func):
        return _wrap_generator(func, begin)
    if inspect.iscoroutinefunction(func):
        return _wrap_coroutine(func, begin)
    return _wrap_function(func, begin)


def _wrap_function(func: Callable[..., Any], begin: ScopeFactory) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scope = _safe_begin(begin, args, kwargs)
        try:
            # attach/detach directly: a context manager here costs more than the rest of the activation
            token = scope.attach()
            try:
                result = func(*args, **kwargs)
            finally:
                scope.detach(token)
        except BaseException as exc:
            _safe_finish(scope, error=exc)
            raise
        _safe_finish(scope, result=result)
        return result

    return wrapper


def _wrap_coroutine(func: Callable[..., Any], begin: ScopeFactory) -> Callable[..., Any]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        scope = _safe_begin(begin, args, kwargs)
        try:
            # attach/detach directly: a context manager here costs more than the rest of the activation
            token = scope.attach()
            try:
                result = await func(*args, **kwargs)
            finally:
                scope.detach(token)
        except BaseException as exc:
            _safe_finish(scope, error=exc)
            raise
        _safe_finish(scope, result=result)
        return result

    return wrapper


def _wrap_generator(func: Callable[..., Any], begin: ScopeFactory) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        scope = _safe_begin(begin, args, kwargs)
        try:
            with scope.activate():
                inner = func(*args, **kwargs)
            result = yield from _step_generator(inner, scope)
        except GeneratorExit:
            _safe_finish(scope)  # closed early by the consumer: not an error
            raise
        except BaseException as exc:
            _safe_finish(scope, error=exc)
            raise
        _safe_finish(scope, result=result)
        return result

    return wrapper


def _step_generator(inner: Generator[Any, Any, Any], scope: CallScope) -> Generator[Any, Any, Any]:
    """``yield from inner`` with the scope active only while ``inner`` runs."""
    to_send: Any = None
    to_throw: BaseException | None = None
    while True:
        try:
            with scope.activate():
                item = inner.throw(to_throw) if to_throw is not None else inner.send(to_send)
        except StopIteration as stop:
            return stop.value
        scope.record_item(item)
        to_send, to_throw = None, None
        try:
            to_send = yield item
        except GeneratorExit:
            with scope.activate():
                inner.close()
            raise
        except BaseException as exc:
            to_throw = exc


def _wrap_async_generator(func: Callable[..., Any], begin: ScopeFactory) -> Callable[..., Any]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        scope = _safe_begin(begin, args, kwargs)
        try:
            with scope.activate():
                inner = func(*args, **kwargs)
            # ``async for`` has no ``yield from``: forward ``asend``/``athrow``/``aclose`` by hand, as
            # ``_step_generator`` does, so the consumer talks to the user's generator unchanged.
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                try:
                    with scope.activate():
                        step = inner.athrow(to_throw) if to_throw is not None else inner.asend(to_send)
                        item = await step
                except StopAsyncIteration:
                    break
                scope.record_item(item)
                to_send, to_throw = None, None
                try:
                    to_send = yield item
                except GeneratorExit:
                    with scope.activate():
                        await inner.aclose()
                    raise
                except BaseException as exc:
                    to_throw = exc
        except GeneratorExit:
            _safe_finish(scope)  # closed early by the consumer: not an error
            raise
        except BaseException as exc:
            _safe_finish(scope, error=exc)
            raise
        _safe_finish(scope)

    return wrapper
