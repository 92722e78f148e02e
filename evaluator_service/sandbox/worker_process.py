"""The sandbox worker: loads one uploaded scorer and scores examples sent over the protocol pipe.

Started as ``python -I -m evaluator_service.sandbox.worker_process MODULE.py CLASS CAP`` inside the scorer's
environment, in its private work directory (see :mod:`evaluator_service.sandbox.launcher`). Frames
arrive on stdin and answers leave on a duplicate of the original stdout; the process's own fds 1 and 2
then point at ``output.log`` (bounded by ``RLIMIT_FSIZE``) and ``sys.stdout``/``sys.stderr`` keep only
the first ``CAP`` characters per request, so a scorer printing gigabytes cannot flood anything.

Request frame: ``{"requests": [{"id": 7, "example": {...}, "config": {...}, "threshold": 0.5}, ...]}``.
A request with ``"op": "score_trace"`` carries ``"trace"`` (``Trace.to_json_data()``) instead of
``"example"`` and runs the ``TraceScorer``'s ``a_score_trace`` on it; its answer has the same form.
Each request is scored in its own asyncio task, so the requests of an async scorer (e.g. one calling an
LLM judge) wait for their judges concurrently, and one request failing never fails another. Answers
finished in the same event-loop turn leave together:
``{"answers": [{"id": 7, "ok": true, "value": 1.0, "reason": "...", "output": "..."}], "cpu": 0.4}`` or
per answer ``{"id": 7, "ok": false, "kind": "crash|transient|fatal|invalid_example", "message": "...",
"healthy": false, ...}`` (``healthy`` is false after ``MemoryError``/``RecursionError``: the evaluator
then retires the worker). A scorer that cannot load answers one ``{"ok": false, "kind": "load"}`` frame.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.util
import inspect
import io
import math
import os
import resource
import signal
import sys
import traceback
import typing
from typing import Any

from evaluator_service.errors import EvaluatorError
from evaluator_service.sandbox.protocol import (
    MAX_FRAME_BYTES,
    SCORE_TRACE,
    ProtocolError,
    read_frame,
    write_frame_fd,
)

_FATAL_ERRORS = {"AuthenticationError", "PermissionDeniedError"}
_TRANSIENT_ERRORS = {"RateLimitError", "APIConnectionError", "APITimeoutError", "InternalServerError"}


class CappedWriter(io.TextIOBase):
    """A text stream that keeps the first ``cap`` characters and silently drops the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def write(self, text: str) -> int:
        room = self.cap - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts) + (f"\n[{self.dropped} more characters dropped]" if self.dropped else "")
        self.parts, self.size, self.dropped = [], 0, 0
        return text


_request_output: contextvars.ContextVar[CappedWriter | None] = contextvars.ContextVar(
    "judgeval_request_output", default=None)


class OutputRouter(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of the worker: each request's task prints into its own capped buffer
    (a context variable, so concurrent requests never see each other's output; ``asyncio.to_thread``
    carries it along). Prints from elsewhere (a thread the scorer started) join the next answer."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.unattributed = CappedWriter(cap)

    def write(self, text: str) -> int:
        return (_request_output.get() or self.unattributed).write(text)

    def capture(self) -> CappedWriter:
        """Route this task's prints to a fresh buffer (call at the start of the request's task)."""
        writer = CappedWriter(self.cap)
        _request_output.set(writer)
        return writer


def _isolate_stdio(cap: int) -> tuple[int, int, OutputRouter]:
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # C-level writes go to the capped output.log the evaluator gave us as stderr
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over RLIMIT_FSIZE: EFBIG instead of death
    router = OutputRouter(cap)
    sys.stdout = sys.stderr = router
    return proto_in, proto_out, router


def _load_class(module_file: str, class_name: str) -> type:
    module_name = module_file.removesuffix(".py")
    sys.path.insert(0, os.getcwd())  # scorer files may import helpers uploaded alongside... none today
    spec = importlib.util.spec_from_file_location(module_name, os.path.abspath(module_file))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # pydantic resolves annotations through sys.modules
    spec.loader.exec_module(module)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ImportError(f"{module_file} defines no class {class_name}")
    return cls


def _example_type(cls: type) -> Any:
    from judgeval.data import Example

    method = getattr(cls, "a_score_example", None)
    if method is None:
        if hasattr(cls, "a_score_trace"):
            return None  # a trace scorer: it only takes score_trace requests
        raise TypeError(f"{cls.__name__} has no a_score_example or a_score_trace method")
    try:
        hints = typing.get_type_hints(method)
    except Exception:
        hints = {}
    params = [p for p in inspect.signature(method).parameters.values() if p.name != "self"]
    annotated = hints.get(params[0].name) if params else None
    if isinstance(annotated, type) and issubclass(annotated, Example):
        return annotated
    return Example


class InvalidExample(EvaluatorError):
    """The example's fields do not fit the scorer's Example class."""


async def _score(cls: type, example_type: Any, request: dict[str, Any]) -> tuple[float, str | None]:
    config = request.get("config") or {}
    scorer = cls(**{**config, "threshold": request.get("threshold", 0.5)})
    if request.get("op") == SCORE_TRACE:
        method = "a_score_trace"
        value = await _score_trace(cls, scorer, request)
    else:
        if example_type is None:
            raise InvalidExample(f"{cls.__name__} is a TraceScorer: it scores trajectories, not examples")
        try:
            example = example_type(**(request.get("example") or {}))
        except Exception as exc:
            raise InvalidExample(f"{example_type.__name__}: {exc}") from None
        method = "a_score_example"
        value = await scorer.a_score_example(example)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"{method} returned {value!r}; expected a finite number")
    reason = getattr(scorer, "reason", None)
    return float(value), None if reason is None else str(reason)[:8192]


async def _score_trace(cls: type, scorer: Any, request: dict[str, Any]) -> Any:
    from judgeval.data.trace import Trace

    if not hasattr(scorer, "a_score_trace"):
        raise InvalidExample(f"{cls.__name__} is not a TraceScorer: it has no a_score_trace method")
    try:
        trace = Trace.from_json_data(request.get("trace") or {})
    except Exception as exc:
        raise InvalidExample(f"the trajectory cannot be read: {exc}") from None
    return await scorer.a_score_trace(trace)


def _classify(exc: BaseException) -> str:
    names = {c.__name__ for c in type(exc).__mro__}
    if names & _FATAL_ERRORS or getattr(exc, "code", None) == "insufficient_quota":
        return "fatal"
    if names & _TRANSIENT_ERRORS:
        return "transient"
    if isinstance(exc, InvalidExample):
        return "invalid_example"
    return "crash"


def _failure(exc: BaseException, kind: str | None = None) -> dict[str, Any]:
    tail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    healthy = not isinstance(exc, MemoryError | RecursionError)
    return {"ok": False, "kind": kind or _classify(exc), "message": tail[-2000:], "healthy": healthy}


class _Outbox:
    """Answers finished in one event-loop turn leave in one frame (one write, one wake-up of the
    evaluator), with the process's CPU time so far."""

    def __init__(self, fd: int, router: OutputRouter) -> None:
        self._fd = fd
        self._router = router
        self._answers: list[dict[str, Any]] = []

    def put(self, answer: dict[str, Any]) -> None:
        if not self._answers:
            asyncio.get_running_loop().call_soon(self._flush)
        self._answers.append(answer)

    def _flush(self) -> None:
        answers, self._answers = self._answers, []
        stray = self._router.unattributed.take()
        if stray:
            answers[0]["output"] = stray + answers[0].get("output", "")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime
        try:
            write_frame_fd(self._fd, {"answers": answers, "cpu": cpu})
        except ProtocolError:  # too large together (big outputs): one frame each
            for answer in answers:
                write_frame_fd(self._fd, {"answers": [answer], "cpu": cpu})


class _Scoring:
    """Scores each request of a frame in its own task; cancels the ones the evaluator gave up on."""

    def __init__(self, cls: type, example_type: Any, router: OutputRouter, outbox: _Outbox) -> None:
        self._cls = cls
        self._example_type = example_type
        self._router = router
        self._outbox = outbox
        self._tasks: dict[Any, asyncio.Task[None]] = {}  # also keeps them alive: the loop holds weak refs

    def start(self, request: dict[str, Any]) -> None:
        request_id = request.get("id")
        task = asyncio.get_running_loop().create_task(self._answer(request))
        self._tasks[request_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(request_id, None))

    def cancel(self, request_id: Any) -> None:
        task = self._tasks.get(request_id)
        if task is not None:
            task.cancel()

    async def _answer(self, request: dict[str, Any]) -> None:
        output = self._router.capture()  # this task's own context: its prints only
        try:
            value, reason = await _score(self._cls, self._example_type, request)
            answer: dict[str, Any] = {"ok": True, "value": value, "reason": reason}
        except asyncio.CancelledError:  # the evaluator gave up on it; the answer confirms it stopped
            answer = {"ok": False, "kind": "cancelled", "message": "cancelled by the evaluator"}
        except Exception as exc:
            answer = _failure(exc)
        answer |= {"id": request.get("id"), "output": output.take()}
        self._outbox.put(answer)


async def _serve_frames(proto_in: int, scoring: _Scoring) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_FRAME_BYTES)
    pipe = os.fdopen(proto_in, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    while True:
        try:
            frame = await read_frame(reader)
        except ProtocolError:  # the evaluator closed our stdin: it is stopping us
            return
        for request in frame.get("requests", ()):
            scoring.start(request)
        for request_id in frame.get("cancel", ()):
            scoring.cancel(request_id)


def serve(module_file: str, class_name: str, cap: int) -> None:
    """Load the scorer, announce readiness, answer frames until stdin closes."""
    proto_in, proto_out, router = _isolate_stdio(cap)
    try:
        cls = _load_class(module_file, class_name)
        example_type = _example_type(cls)
    except BaseException as exc:
        write_frame_fd(proto_out, _failure(exc, "load") | {"output": router.unattributed.take()})
        return
    write_frame_fd(proto_out, {"ok": True, "ready": True})
    scoring = _Scoring(cls, example_type, router, _Outbox(proto_out, router))
    asyncio.run(_serve_frames(proto_in, scoring))


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 65536)
