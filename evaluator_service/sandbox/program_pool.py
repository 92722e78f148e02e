"""Hands one scorer program's queued requests to its workers, starting and retiring workers as needed.

Requests submitted in the same event-loop turn are dispatched together: each worker gets its share in
one frame (least-loaded first, up to its room), so a burst costs one pipe write per worker instead of
one round trip per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from evaluator_service.sandbox.config import SandboxConfig
from evaluator_service.sandbox.pipeline import SandboxRequest, WorkerPipeline
from evaluator_service.sandbox.worker_handle import SandboxWorker, ScorerProgram, WorkerFailed

START_RETRY_S = 1.0
"""After a worker failed to start while others serve the queue, wait this long before trying again."""


class ProgramPool:
    """The workers of one scorer program and the requests waiting for them."""

    def __init__(self, program: ScorerProgram, config: SandboxConfig,
                 start: Callable[[ScorerProgram], Awaitable[SandboxWorker]]) -> None:
        self.program = program
        self._config = config
        self._start_process = start
        self._workers: list[WorkerPipeline] = []
        self._queue: deque[SandboxRequest] = deque()
        self._starting = 0
        self._no_start_until = 0.0
        self._scheduled = False
        self._retiring = False
        self._starts: set[asyncio.Task[Any]] = set()  # cancelled by close()
        self._stops: set[asyncio.Task[Any]] = set()  # awaited by close(): a half-killed worker would leak

    async def submit(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue one request and wait for its answer (or its worker's failure)."""
        request = SandboxRequest(payload, asyncio.get_running_loop().create_future())
        self._queue.append(request)
        self._kick()
        try:
            return await request.future
        except asyncio.CancelledError:
            if request.worker is not None:
                request.worker.abandon(request)
            else:
                with contextlib.suppress(ValueError):
                    self._queue.remove(request)
            raise

    def idle_workers(self) -> int:
        """Started workers holding no request."""
        return sum(1 for w in self._workers if w.accepting and w.load == 0)

    def stop_idle_since(self, deadline: float) -> None:
        """Stop workers that have held no request since before ``deadline``."""
        for worker in self._workers:
            if worker.alive and worker.load == 0 and worker.idle_since < deadline:
                worker.stop("idle for too long")
        self._kick()

    async def retire(self) -> None:
        """The program was replaced: serve what is queued or running, then stop every worker (the idle
        ones before this returns)."""
        self._retiring = True
        self._dispatch()
        await asyncio.gather(*self._stops, return_exceptions=True)

    @property
    def finished(self) -> bool:
        """Retired, and no worker or request is left."""
        return self._retiring and not (self._workers or self._queue or self._starting)

    async def close(self) -> None:
        """Stop everything now: running requests fail with ``WorkerInterrupted``, queued ones too."""
        self._retiring = True
        for task in list(self._starts):
            task.cancel()
        while self._queue:
            request = self._queue.popleft()
            if not request.future.done():
                request.future.set_exception(WorkerFailed("the sandbox pool is closing"))
        for worker in self._workers:
            worker.stop("the sandbox pool is closing")
        await asyncio.gather(*(w.wait_stopped() for w in self._workers), *self._starts, *self._stops,
                             return_exceptions=True)
        self._workers.clear()

    def _kick(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._scheduled = False
        self._reap()
        self._assign()
        if self._wants_worker():
            self._starting += 1
            self._track(self._bring_up(), self._starts)

    def _reap(self) -> None:
        """Forget dead workers; stop retired ones that finished their requests."""
        keep: list[WorkerPipeline] = []
        for worker in self._workers:
            done = self._retiring and not self._queue
            if worker.alive and (worker.load or (worker.accepting and not done)):
                keep.append(worker)
                continue
            worker.stop("retired")  # holds no request here (or is dead already): nobody is interrupted
            self._track(worker.wait_stopped(), self._stops)
        self._workers = keep

    def _assign(self) -> None:
        ready = [w for w in self._workers if w.room > 0]
        if not ready or not self._queue:
            return
        batches: dict[WorkerPipeline, list[SandboxRequest]] = {w: [] for w in ready}
        while self._queue:
            room = [w for w in ready if w.room > len(batches[w])]
            if not room:
                break
            target = min(room, key=lambda w: w.load + len(batches[w]))
            batches[target].append(self._queue.popleft())
        for worker, requests in batches.items():
            if requests:
                worker.send(requests)

    def _wants_worker(self) -> bool:
        accepting = [w for w in self._workers if w.accepting]
        if len(accepting) + self._starting >= self._config.workers_per_scorer:
            return False
        if time.monotonic() < self._no_start_until:
            return False
        if self._queue:
            return True
        # Requests overlap on every worker: bring the next one up before a queue builds (starting takes
        # a while); one request at a time never needs a second worker.
        return not self._retiring and bool(accepting) and all(w.load > 1 for w in accepting)

    async def _bring_up(self) -> None:
        try:
            process = await self._start_process(self.program)
        except WorkerFailed as exc:
            self._starting -= 1
            self._start_failed(exc)
            return
        except BaseException:
            self._starting -= 1
            raise
        self._starting -= 1
        limits, concurrency = self._config.limits, self._config.worker_concurrency
        self._workers.append(WorkerPipeline(process, limits, concurrency, self._kick))
        self._kick()

    def _start_failed(self, exc: WorkerFailed) -> None:
        if any(w.accepting for w in self._workers) or self._starting:
            self._no_start_until = time.monotonic() + START_RETRY_S  # others serve the queue meanwhile
            asyncio.get_running_loop().call_later(START_RETRY_S, self._kick)
            return
        while self._queue:  # nothing could serve them: they fail the way the worker failed
            request = self._queue.popleft()
            if not request.future.done():
                request.future.set_exception(WorkerFailed(str(exc)))

    @staticmethod
    def _track(coroutine: Coroutine[Any, Any, Any], tasks: set[asyncio.Task[Any]]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
