"""Isolated Python environments for uploaded scorers, one per distinct requirements set.

Each environment is a venv created with the evaluator's own interpreter. A ``.pth`` file appends the
evaluator's site directories after the venv's own, so ``judgeval``, ``pydantic`` and ``openai`` (which every
docs scorer lists) are already satisfied without network, while a scorer that pins another version gets
its own copy, which takes precedence. (``venv --system-site-packages`` would not do: when the evaluator
itself runs from a venv, that flag exposes the base interpreter's packages, not the evaluator's.)

Requirements are installed with ``--only-binary :all:``: building an sdist runs arbitrary code as the
evaluator user, outside the sandbox, so only wheels are accepted.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import site
import sys
import uuid
from pathlib import Path

from judgeval.environment_variables import JUDGMENT_PREFIX

from evaluator_service.errors import EvaluatorError
from evaluator_service.registry.validation import normalized_requirements

PIP_ERROR_TAIL_CHARS = 4000
_READY_MARKER = ".judgeval-ready"


class RequirementsInstallError(EvaluatorError):
    """pip could not install the requirements; the message ends with pip's own output (tail)."""


class EnvironmentInstaller:
    """Creates and caches scorer environments under ``envs_dir`` (world-readable, so a sandbox user can
    run them). ``pip_args`` are added to every ``pip install`` (e.g. ``["--no-index"]`` offline)."""

    def __init__(self, envs_dir: Path, *, pip_timeout_s: float = 600.0, pip_args: tuple[str, ...] = ()):
        self.envs_dir = envs_dir
        self.pip_timeout_s = pip_timeout_s
        self.pip_args = pip_args
        self._locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def requirements_hash(requirements: str) -> str:
        """Key of the environment serving ``requirements`` on this interpreter version."""
        text = f"{sys.version_info[:2]}\n{normalized_requirements(requirements)}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def python_for(self, requirements_hash: str) -> Path | None:
        """The environment's interpreter when it is ready, else ``None``."""
        env = self.envs_dir / requirements_hash
        return env / "bin" / "python" if (env / _READY_MARKER).exists() else None

    async def ensure(self, requirements: str) -> Path:
        """Create (or reuse) the environment for ``requirements`` and return its interpreter."""
        key = self.requirements_hash(requirements)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            ready = self.python_for(key)
            if ready is not None:
                return ready
            self.envs_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.envs_dir, 0o755)
            staging = self.envs_dir / f".{key}.{uuid.uuid4().hex[:8]}"
            try:
                await self._build(staging, requirements)
                final = self.envs_dir / key
                shutil.rmtree(final, ignore_errors=True)
                staging.rename(final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return final / "bin" / "python"

    async def _build(self, env: Path, requirements: str) -> None:
        await self._run([sys.executable, "-m", "venv", "--without-pip", str(env)], "creating the venv")
        purelib = Path(
            next(p for p in (env / "lib").glob("python*/site-packages"))
        )
        dirs = [d for d in site.getsitepackages() if Path(d).is_dir()]
        lines = [f"import site; site.addsitedir({d!r})" for d in dirs]
        (purelib / "_judgeval_evaluator.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if normalized_requirements(requirements):
            req_file = env / "requirements.txt"
            req_file.write_text(requirements, encoding="utf-8")
            await self._run(
                [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install",
                 "--no-input", "--disable-pip-version-check", "--only-binary", ":all:",
                 *self.pip_args, "-r", str(req_file)],
                "installing the requirements",
            )
        os.chmod(env, 0o755)
        (env / _READY_MARKER).write_text("ok\n", encoding="utf-8")

    async def _run(self, argv: list[str], what: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith(JUDGMENT_PREFIX)},
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), self.pip_timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RequirementsInstallError(f"{what} timed out after {self.pip_timeout_s:.0f} s") from None
        if process.returncode != 0:
            text = output.decode(errors="replace").strip()[-PIP_ERROR_TAIL_CHARS:]
            raise RequirementsInstallError(f"{what} failed (exit {process.returncode}):\n{text}")
