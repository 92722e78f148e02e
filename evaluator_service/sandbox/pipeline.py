"""Several requests in flight on one sandbox worker, each with its own id and deadline.

The pool hands a worker batches of requests (one frame each); the worker scores them concurrently and
answers by id. Guarantees per request, as with one request per worker:

- wall clock: a request not answered ``wall_timeout_s`` after its frame was sent kills the worker; that
  request fails with :class:`WorkerFailed` ("timed out"), the others on the worker with
  :class:`WorkerInterrupted` (they did nothing wrong; the runner retries them);
- a worker that dies (signal, ``RLIMIT_CPU``, ``os._exit``) fails every request it held, saying how it died;
- a request whose caller gave up (the runner's own timeout) is cancelled inside the worker; a worker that
  does not confirm within ``CANCEL_GRACE_S`` is stuck and is killed like a timeout;
- a worker stops taking requests after ``max_requests_per_worker``, at half its CPU budget, or after a
  ``MemoryError``/``RecursionError``; it finishes what it holds, then the pool stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evaluator_service.sandbox.config import SandboxLimits
from evaluator_service.sandbox.protocol import (
    ProtocolError,
    encode_frame,
    encode_request,
    encode_request_frames,
)
from evaluator_service.sandbox.worker_handle import SandboxWorker, WorkerFailed, WorkerInterrupted

CANCEL_GRACE_S = 2.0
"""How long a worker may take to confirm a cancelled request before it counts as stuck."""


@dataclass(eq=False, slots=True)
class SandboxRequest:
    """One request, queued in the pool or in flight on ``worker``."""

    payload: dict[str, Any]
    future: asyncio.Future[dict[str, Any]]
    worker: WorkerPipeline | None = None


class WorkerPipeline:
    """A started :class:`SandboxWorker` with up to ``concurrency`` requests in flight. ``on_change`` is
    called whenever it frees room or stops (the pool then dispatches again)."""

    def __init__(self, process: SandboxWorker, limits: SandboxLimits, concurrency: int,
                 on_change: Callable[[], None]) -> None:
        self.process = process
        self._limits = limits
        self._concurrency = concurrency
        self._on_change = on_change
        self._in_flight: dict[int, SandboxRequest] = {}
        # (deadline, ids) per frame in send order; one timer watches the oldest frame still unanswered
        # (a timer per frame would pile up tens of thousands of handles at a few thousand frames/s).
        self._deadlines: deque[tuple[float, list[int]]] = deque()
        self._watchdog: asyncio.TimerHandle | None = None
        self._last_id = 0
        self.sent = 0
        self.cpu_seconds = 0.0
        self.alive = True
        self.idle_since = time.monotonic()
        self._stopping: asyncio.Task[None] | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read_answers())

    @property
    def load(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._in_flight)

    @property
    def accepting(self) -> bool:
        """Whether new requests may go here (alive, healthy, under its request count and CPU budget)."""
        limits = self._limits
        return (self.alive and self.process.healthy and self.sent < limits.max_requests_per_worker
                and self.cpu_seconds < limits.cpu_seconds / 2)

    @property
    def room(self) -> int:
        """How many more requests it takes now."""
        if not self.accepting:
            return 0
        return min(self._concurrency - self.load, self._limits.max_requests_per_worker - self.sent)

    def send(self, requests: list[SandboxRequest]) -> None:
        """Send ``requests`` in as few frames as fit; a request too large for any frame fails alone."""
        parts: list[bytes] = []
        ids: list[int] = []
        for request in requests:
            self._last_id += 1
            try:
                parts.append(encode_request({"id": self._last_id, **request.payload}))
            except ProtocolError as exc:
                request.future.set_exception(WorkerFailed(f"cannot send the request to the sandbox: {exc}"))
                continue
            request.worker = self
            self._in_flight[self._last_id] = request
            ids.append(self._last_id)
        self.sent += len(ids)
        self.process.admit(len(ids))
        for frame in encode_request_frames(parts):
            self.process.send(frame)
        if ids:
            loop = asyncio.get_running_loop()
            self._deadlines.append((loop.time() + self._limits.wall_timeout_s, ids))
            self._arm_watchdog()

    def abandon(self, request: SandboxRequest) -> None:
        """The caller stopped waiting: cancel the request in the worker, and kill the worker if it does
        not confirm soon (its event loop is stuck, e.g. in a CPU loop)."""
        found = next((i for i, r in self._in_flight.items() if r is request), None)
        if found is None or not self.alive:
            return
        self.process.send(encode_frame({"cancel": [found]}))
        asyncio.get_running_loop().call_later(CANCEL_GRACE_S, self._check_cancelled, found)

    def stop(self, reason: str) -> None:
        """Kill the worker now; requests it holds fail with :class:`WorkerInterrupted` (``reason``)."""
        self._abort(set(), reason)

    async def wait_stopped(self) -> None:
        """Until the process is gone (after :meth:`stop`, or after it died)."""
        if self._stopping is not None:
            await self._stopping
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def _read_answers(self) -> None:
        while True:
            try:
                frame = await self.process.receive()
            except ProtocolError:
                break
            self._settle(frame)
        if not self.alive:
            return  # we killed it: the requests were already failed with the reason
        self.alive = False
        self._on_change()
        notice = await self.process.death_notice("scoring")
        self._fail(set(), WorkerFailed, WorkerFailed, notice)
        self._on_change()

    def _settle(self, frame: dict[str, Any]) -> None:
        self.cpu_seconds = float(frame.get("cpu", self.cpu_seconds))
        for answer in frame.get("answers", ()):
            request = self._in_flight.pop(answer.get("id"), None)
            if answer.get("healthy") is False:
                self.process.healthy = False
            if request is not None and not request.future.done():
                request.future.set_result(answer)
        self._drop_answered_frames()
        if not self._in_flight:
            self.idle_since = time.monotonic()
        self._on_change()

    def _drop_answered_frames(self) -> None:
        in_flight = self._in_flight
        while self._deadlines and not any(i in in_flight for i in self._deadlines[0][1]):
            self._deadlines.popleft()

    def _arm_watchdog(self) -> None:
        if self._watchdog is None and self._deadlines:
            loop = asyncio.get_running_loop()
            self._watchdog = loop.call_at(self._deadlines[0][0], self._check_deadlines)

    def _check_deadlines(self) -> None:
        self._watchdog = None
        if not self.alive:
            return
        self._drop_answered_frames()
        now = asyncio.get_running_loop().time()
        late: set[int] = set()
        while self._deadlines and self._deadlines[0][0] <= now:
            late.update(i for i in self._deadlines.popleft()[1] if i in self._in_flight)
        if late:
            timeout = self._limits.wall_timeout_s
            self._abort(late, f"scorer timed out after {timeout:g} s while scoring")
        else:
            self._arm_watchdog()

    def _check_cancelled(self, request_id: int) -> None:
        if request_id in self._in_flight and self.alive:
            self._abort({request_id}, f"scorer did not stop within {CANCEL_GRACE_S:g} s of being cancelled")

    def _abort(self, culprits: set[int], message: str) -> None:
        if not self.alive:
            return
        self.alive = False
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._fail(culprits, WorkerFailed, WorkerInterrupted, message)
        self._stopping = asyncio.get_running_loop().create_task(self.process.kill())
        self._on_change()

    def _fail(self, culprits: set[int], guilty: type[WorkerFailed], innocent: type[WorkerFailed],
              message: str) -> None:
        bystander = (f"another request on its sandbox worker failed and the worker was stopped ({message}); "
                     "this request did not fail by itself") if culprits else message
        for request_id, request in self._in_flight.items():
            if not request.future.done():
                culprit = request_id in culprits
                request.future.set_exception(guilty(message) if culprit else innocent(bystander))
        self._in_flight.clear()
