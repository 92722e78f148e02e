"""One sandbox worker process, seen from the evaluator: start, send frames, read frames, kill."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator_service.errors import EvaluatorError
from evaluator_service.sandbox.config import SandboxConfig
from evaluator_service.sandbox.plan import Identity, build_plan, launcher_command
from evaluator_service.sandbox.protocol import ProtocolError, read_frame

OUTPUT_TAIL_CHARS = 2000


class WorkerFailed(EvaluatorError):
    """The worker died, timed out or broke the protocol; the message says which, for the span."""


@dataclass(frozen=True, slots=True)
class ScorerProgram:
    """What a worker runs: a scorer class from a source file, in a given environment."""

    key: str
    python: Path
    source: str
    module_file: str
    class_name: str


class WorkerInterrupted(WorkerFailed):
    """The request itself did nothing wrong: the worker it shared with other requests was stopped because
    one of those timed out or was abandoned. Worth retrying."""


class SandboxWorker:
    """One worker process: start it, send it frames, read its frames, kill it. Which requests are in
    flight on it is :class:`~evaluator_service.sandbox.pipeline.WorkerPipeline`'s business."""

    def __init__(self, program: ScorerProgram, config: SandboxConfig, *, namespaces: bool,
                 identity: Identity | None, hidden: list[str]) -> None:
        self.program = program
        self._config = config
        self._namespaces = namespaces
        self._identity = identity
        self._hidden = hidden
        self._process: asyncio.subprocess.Process | None = None
        self._work_dir: Path | None = None
        self.healthy = True

    async def start(self) -> None:
        """Spawn the worker and wait for it to load the scorer; raises :class:`WorkerFailed`."""
        try:
            await self._spawn()
        except OSError as exc:
            raise WorkerFailed(f"cannot start a sandbox worker: {exc}") from None
        answer = await self._receive(self._config.limits.startup_timeout_s, "starting")
        if not answer.get("ready"):
            self.healthy = False
            raise WorkerFailed(f"the scorer failed to load: {answer.get('message', 'unknown error')}")

    async def _spawn(self) -> None:
        self._work_dir = self._make_work_dir()
        (self._work_dir / self.program.module_file).write_text(self.program.source, encoding="utf-8")
        plan = build_plan(self._config, python=self.program.python, work_dir=self._work_dir,
                          namespaces=self._namespaces, identity=self._identity, hidden=self._hidden)
        worker_argv = [str(self.program.python), "-I", "-m", "evaluator_service.sandbox.worker_process",
                       self.program.module_file, self.program.class_name,
                       str(self._config.limits.output_cap_bytes)]
        log = open(self._work_dir / "output.log", "wb")  # noqa: SIM115 - handed to the child
        with log:
            self._process = await asyncio.create_subprocess_exec(
                *launcher_command(plan), *worker_argv,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                start_new_session=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            )

    def send(self, frame: bytes) -> None:
        """Queue an encoded frame for the worker's stdin without waiting. A worker that died meanwhile
        is noticed by whoever reads its answers (:meth:`receive` then raises :class:`ProtocolError`)."""
        assert self._process is not None and self._process.stdin is not None
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._process.stdin.write(frame)

    async def receive(self) -> dict[str, Any]:
        """The worker's next frame; raises :class:`ProtocolError` when it closed its pipe (died)."""
        assert self._process is not None and self._process.stdout is not None
        return await read_frame(self._process.stdout)

    async def _receive(self, timeout: float, what: str) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(self.receive(), timeout)
        except TimeoutError:
            await self.kill()
            raise WorkerFailed(f"scorer timed out after {timeout:g} s while {what}") from None
        except ProtocolError:
            raise WorkerFailed(await self.death_notice(what)) from None

    async def death_notice(self, what: str) -> str:
        """Once the worker closed its pipe: wait briefly for its exit status, kill what is left, and say
        how it died (signal or exit status, plus the tail of its output)."""
        self.healthy = False
        assert self._process is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), 5)
        tail = self._output_tail()
        await self.kill()
        code = self._process.returncode
        return f"scorer process died while {what} ({_describe_exit(code)}){tail}"

    async def kill(self) -> None:
        """Kill the worker's whole process group and remove its work directory."""
        self.healthy = False
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            if process.stdin is not None:
                process.stdin.close()
            # Bounded: without namespaces, a descendant that escaped the group could hold the pipes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    def _make_work_dir(self) -> Path:
        root = self._config.work_root or Path(tempfile.gettempdir()) / "judgeval-sandbox"
        root.mkdir(parents=True, exist_ok=True)
        owner = os.lstat(root)
        if owner.st_uid != os.geteuid() or not os.path.isdir(root) or os.path.islink(root):
            # A directory someone else planted in a shared /tmp could be used to swap files under us.
            raise WorkerFailed(f"sandbox work root {root} is not a directory owned by the evaluator's user")
        os.chmod(root, 0o711)
        work = Path(tempfile.mkdtemp(prefix="w-", dir=root))
        if self._identity is not None:
            os.chown(work, self._identity.uid, self._identity.gid)
        os.chmod(work, 0o700)
        return work

    def _output_tail(self) -> str:
        if self._work_dir is None:
            return ""
        try:
            with open(self._work_dir / "output.log", "rb") as handle:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - OUTPUT_TAIL_CHARS))
                tail = handle.read().decode(errors="replace").strip()
        except OSError:
            return ""
        return f"; output: {tail}" if tail else ""


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    signum = -code if code < 0 else code - 128 if code > 128 else 0
    if signum:
        name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
        hint = {"SIGKILL": "killed, e.g. over its memory or process limit",
                "SIGXCPU": "over its CPU time limit", "SIGSEGV": "segmentation fault",
                "SIGABRT": "aborted"}.get(name, "")
        return f"signal {name}{', ' + hint if hint else ''}"
    return f"exit status {code}"
