"""The sandbox worker: loads one uploaded scorer and scores examples sent over the protocol pipe.

Started as ``python -I -m evaluator_service.sandbox.worker MODULE.py CLASS`` inside the scorer's
environment, in its private work directory (see :mod:`evaluator_service.sandbox.launcher`). Frames
arrive on stdin and answers leave on a duplicate of the original stdout; the process's own fds 1 and 2
then point at ``output.log`` (bounded by ``RLIMIT_FSIZE``) and ``sys.stdout``/``sys.stderr`` keep only
the first ``cap`` bytes, so a scorer printing gigabytes cannot flood anything.

Request: ``{"example": {...}, "config": {...}, "threshold": 0.5}``.
Answer: ``{"ok": true, "value": 1.0, "reason": "...", "cpu": 0.4, "output": "..."}`` or
``{"ok": false, "kind": "crash|transient|fatal|invalid_example|load", "message": "...", ...}``.
"""

from __future__ import annotations

import asyncio
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

from evaluator_service.sandbox.protocol import read_frame_fd, write_frame_fd

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


def _isolate_stdio(cap: int) -> tuple[int, int, CappedWriter]:
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # C-level writes go to the capped output.log the evaluator gave us as stderr
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over RLIMIT_FSIZE: EFBIG instead of death
    writer = CappedWriter(cap)
    sys.stdout = sys.stderr = writer
    return proto_in, proto_out, writer


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
        raise TypeError(f"{cls.__name__} has no a_score_example method")
    try:
        hints = typing.get_type_hints(method)
    except Exception:
        hints = {}
    params = [p for p in inspect.signature(method).parameters.values() if p.name != "self"]
    annotated = hints.get(params[0].name) if params else None
    if isinstance(annotated, type) and issubclass(annotated, Example):
        return annotated
    return Example


class InvalidExample(Exception):
    """The example's fields do not fit the scorer's Example class."""


async def _score(cls: type, example_type: Any, request: dict[str, Any]) -> tuple[float, str | None]:
    config = request.get("config") or {}
    scorer = cls(**{**config, "threshold": request.get("threshold", 0.5)})
    try:
        example = example_type(**(request.get("example") or {}))
    except Exception as exc:
        raise InvalidExample(f"{example_type.__name__}: {exc}") from None
    value = await scorer.a_score_example(example)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"a_score_example returned {value!r}; expected a finite number")
    reason = getattr(scorer, "reason", None)
    return float(value), None if reason is None else str(reason)[:8192]


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


def serve(module_file: str, class_name: str, cap: int) -> None:
    """Load the scorer, announce readiness, answer frames until stdin closes."""
    proto_in, proto_out, writer = _isolate_stdio(cap)
    try:
        cls = _load_class(module_file, class_name)
        example_type = _example_type(cls)
    except BaseException as exc:
        write_frame_fd(proto_out, _failure(exc, "load") | {"output": writer.take()})
        return
    write_frame_fd(proto_out, {"ok": True, "ready": True})
    loop = asyncio.new_event_loop()
    while (request := read_frame_fd(proto_in)) is not None:
        try:
            value, reason = loop.run_until_complete(_score(cls, example_type, request))
            answer: dict[str, Any] = {"ok": True, "value": value, "reason": reason}
        except Exception as exc:
            answer = _failure(exc)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        answer |= {"cpu": usage.ru_utime + usage.ru_stime, "output": writer.take()}
        write_frame_fd(proto_out, answer)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 65536)
