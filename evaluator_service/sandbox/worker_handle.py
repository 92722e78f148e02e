"""One sandbox worker process, seen from the evaluator: start, send frames, read frames, kill."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator_service.errors import EvaluatorError
from evaluator_service.sandbox.cgroups import CgroupLimits, WorkerCgroup
from evaluator_service.sandbox.config import SandboxConfig
from evaluator_service.sandbox.egress_proxy import EgressProxy, allowlist_from_urls
from evaluator_service.sandbox.isolation import SandboxIsolation, SandboxUnavailable
from evaluator_service.sandbox.plan import (
    WORK_DIR,
    Identity,
    LaunchFiles,
    bwrap_arguments,
    launch_plan,
    launcher_command,
    premount_plan,
    runtime_paths,
    scorer_environment,
    venv_of,
    worker_command,
)
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
    flight on it is :class:`~evaluator_service.sandbox.pipeline.WorkerPipeline`'s business.

    Per worker it owns: a uid of its own, a cgroup (when the host has them), an egress proxy socket (with
    ``network: proxy``) and its output file, a memfd (no host path; ``RLIMIT_FSIZE`` applies to it). Under
    bubblewrap the source travels by descriptor into a tmpfs inside the sandbox, so nothing of the
    scorer is ever written to the host's disk; in the weaker ``isolation: none`` mode it is written to a
    private directory under the evaluator's run directory, removed on exit and at the next start."""

    def __init__(self, program: ScorerProgram, config: SandboxConfig, isolation: SandboxIsolation) -> None:
        self.program = program
        self._config = config
        self._isolation = isolation
        self._process: asyncio.subprocess.Process | None = None
        self._identity: Identity | None = None
        self._cgroup: WorkerCgroup | None = None
        self._proxy: EgressProxy | None = None
        self._output_fd: int | None = None
        self._work_dir: Path | None = None
        self.healthy = True

    async def start(self) -> None:
        """Spawn the worker and wait for it to load the scorer; raises :class:`WorkerFailed`."""
        try:
            await self._spawn()
        except (OSError, SandboxUnavailable) as exc:
            raise WorkerFailed(f"cannot start a sandbox worker: {exc}") from None
        answer = await self._receive(self._config.limits.startup_timeout_s, "starting")
        if not answer.get("ready"):
            self.healthy = False
            raise WorkerFailed(f"the scorer failed to load: {answer.get('message', 'unknown error')}")

    def admit(self, requests: int) -> None:
        """``requests`` more scored requests were sent: each brings its budget of LLM calls."""
        if self._proxy is not None:
            self._proxy.grant(requests)

    async def _spawn(self) -> None:
        iso, limits = self._isolation, self._config.limits
        self._identity = iso.take_identity()
        if iso.cgroups is not None:
            self._cgroup = iso.cgroups.create(CgroupLimits(limits.memory_bytes, limits.max_processes,
                                                           limits.cpus))
        self._output_fd = os.memfd_create("scorer-output", os.MFD_CLOEXEC)
        rlimits = {"RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_AS": limits.memory_bytes,
                   "RLIMIT_FSIZE": limits.file_size_bytes, "RLIMIT_CORE": 0}
        if self._identity is not None:
            rlimits["RLIMIT_NPROC"] = limits.max_processes  # this worker's own uid: counts only its tree
        fds = _Descriptors()
        try:
            plan = await self._plan(rlimits, fds)
            plan_fd = fds.add(json.dumps(plan).encode())
            self._process = await asyncio.create_subprocess_exec(
                *launcher_command(plan_fd), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=self._output_fd, pass_fds=fds.numbers, start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            )
        finally:
            fds.close()

    async def _plan(self, rlimits: dict[str, int], fds: _Descriptors) -> dict[str, Any]:
        program, config, iso = self.program, self._config, self._isolation
        cgroup_procs = self._cgroup.procs_files if self._cgroup is not None else []
        proxied = iso.bwrap is not None and config.network == "proxy"
        if proxied:
            self._proxy = EgressProxy(iso.new_socket_path(), scorer=program.key.split("@")[0],
                                      allow=egress_allowlist(config), ledger=iso.ledger,
                                      calls_per_request=config.limits.llm_calls_per_request)
            await self._proxy.start()
        command = worker_command(program.python, program.module_file, program.class_name,
                                 config.limits.output_cap_bytes, proxied=proxied,
                                 max_processes=config.limits.max_processes)
        if iso.bwrap is not None:
            files = LaunchFiles(source_fd=fds.add(program.source.encode()),
                                seccomp_fd=fds.add(iso.seccomp_filter))
            socket_path = self._proxy.socket_path if self._proxy else None
            bwrap = bwrap_arguments(config, python=program.python, module_file=program.module_file,
                                    files=files, egress_socket=socket_path)
            venv = venv_of(program.python)
            needed = [*runtime_paths(program.python), *([venv] if venv else []), str(iso.run_dir)]
            return launch_plan(mode="bwrap", command=command, identity=self._identity, rlimits=rlimits,
                               cgroup_procs=cgroup_procs, bwrap=bwrap, cwd=WORK_DIR, env={},
                               premount=premount_plan(needed, self._identity))
        self._work_dir = self._make_work_dir()
        (self._work_dir / program.module_file).write_text(program.source, encoding="utf-8")
        env = scorer_environment(config, str(self._work_dir), proxied=False)
        command = command[command.index("--") + 1:]  # no PID namespace: the launcher's PDEATHSIG only
        return launch_plan(mode="rlimits", command=[str(program.python), *command[1:]],
                           identity=self._identity, rlimits=rlimits, cgroup_procs=cgroup_procs, bwrap=[],
                           premount={"tmpfs": [], "binds": []}, cwd=str(self._work_dir), env=env)

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
        """Kill the worker's whole process tree and release what it held: cgroup, uid, proxy, work dir."""
        self.healthy = False
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            if process.stdin is not None:
                process.stdin.close()
        if self._cgroup is not None:
            await asyncio.to_thread(self._cgroup.destroy)  # whatever the scorer forked, setsid or not
            self._cgroup = None
        if process is not None and process.returncode is None:
            # Bounded: without namespaces or cgroups, a descendant that escaped could hold the pipes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
        if self._proxy is not None:
            await self._proxy.close()
            self._proxy = None
        self._isolation.release_identity(self._identity)
        self._identity = None
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None
        if self._output_fd is not None:
            os.close(self._output_fd)
            self._output_fd = None

    def _make_work_dir(self) -> Path:
        work = Path(tempfile.mkdtemp(prefix="w-", dir=self._isolation.run_dir))
        if self._identity is not None:
            os.chown(work, self._identity.uid, self._identity.gid)
        os.chmod(work, 0o700)
        return work

    def _output_tail(self) -> str:
        if self._output_fd is None:
            return ""
        try:
            size = os.fstat(self._output_fd).st_size
            raw = os.pread(self._output_fd, OUTPUT_TAIL_CHARS, max(0, size - OUTPUT_TAIL_CHARS))
        except OSError:
            return ""
        tail = raw.decode(errors="replace").strip()
        return f"; output: {tail}" if tail else ""


class _Descriptors:
    """memfds holding data for the launcher and bubblewrap (the plan, the source, the seccomp filter),
    inherited by number and closed in the evaluator once the launcher started."""

    def __init__(self) -> None:
        self.numbers: list[int] = []

    def add(self, data: bytes) -> int:
        fd = os.memfd_create("sandbox-data", 0)
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
        self.numbers.append(fd)
        return fd

    def close(self) -> None:
        for fd in self.numbers:
            os.close(fd)
        self.numbers.clear()


def egress_allowlist(config: SandboxConfig) -> frozenset[str]:
    """``sandbox.egress_allow``, or by default the LLM endpoints scorers are configured with."""
    if config.egress_allow is not None:
        return frozenset(entry.lower() for entry in config.egress_allow)
    urls = [os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
            os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"]
    return allowlist_from_urls(urls)


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
