"""Isolated Python environments for uploaded scorers, one per distinct requirements set.

Each environment is a venv created with the evaluator's own interpreter. A ``.pth`` file appends the
evaluator's site directories after the venv's own, so ``judgeval``, ``pydantic`` and ``openai`` (which every
docs scorer lists) are already satisfied without network, while a scorer that pins another version gets
its own copy, which takes precedence. (``venv --system-site-packages`` would not do: when the evaluator
itself runs from a venv, that flag exposes the base interpreter's packages, not the evaluator's.)

Requirements are installed with ``--only-binary :all:``: building an sdist runs arbitrary code as the
evaluator user, outside the sandbox, so only wheels are accepted. pip reads the requirements as validated
(one normalized requirement per line, see :mod:`evaluator_service.registry.validation`), runs with a
scrubbed environment (:func:`pip_environment`: no API keys, no secrets to expand or leak), and when it
fails the uploader hears which requirement could not be installed, never pip's raw output, which is
logged here instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import site
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

from evaluator_service.errors import EvaluatorError
from evaluator_service.registry.validation import check_requirements, normalized_requirements

logger = logging.getLogger(__name__)

PIP_ENVIRONMENT = (
    "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_CLIENT_CERT",
    "PIP_CONFIG_FILE", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR", "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
)
"""The only variables of the evaluator's environment pip sees when it installs uploaded requirements:
where to find programs and its home, and the index, proxy and certificate settings an operator sets for
the evaluator's pip. Everything else (judge API keys, ``JUDGMENT_API_KEY``, database URLs) stays out."""

_READY_MARKER = ".judgeval-ready"
_PIP_REPORTS = (
    re.compile(r"Could not find a version that satisfies the requirement [^\n]*"),
    re.compile(r"No matching distribution found for [^\n]*"),
    re.compile(r"Cannot install [^\n]* because these package versions have conflicting dependencies"),
    re.compile(r"[^\n]* depends on [^\n]*"),
)
"""pip's lines that name a requirement (and only that): what an uploader is told of a failed install."""


class RequirementsInstallError(EvaluatorError):
    """pip could not install the requirements; the message names the requirements pip reported on (pip's
    full output is in the evaluator's log, not in the message)."""


def pip_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment pip runs with: the :data:`PIP_ENVIRONMENT` variables set in ``environ`` (default:
    the evaluator's), nothing else."""
    source = os.environ if environ is None else environ
    return {name: source[name] for name in PIP_ENVIRONMENT if name in source}


def describe_pip_failure(output: str, requirements: str) -> str:
    """What an uploader may see of pip's failed output: its lines naming a requirement, else the list of
    requirements asked for. pip echoes index URLs, paths and environment values; those stay in the log."""
    reported: list[str] = []
    for pattern in _PIP_REPORTS:
        for found in pattern.findall(output):
            line = found.strip()
            if line not in reported:
                reported.append(line)
    if reported:
        return "\n".join(reported[:10])
    names = ", ".join(sorted({r.name for r in check_requirements(requirements)})) or "(none)"
    return f"pip could not install the requirements ({names}); the evaluator's log has pip's output"


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
        normalized = normalized_requirements(requirements)
        if normalized:
            req_file = env / "requirements.txt"
            req_file.write_text(normalized + "\n", encoding="utf-8")  # what was validated, nothing more
            await self._run(
                [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install",
                 "--no-input", "--disable-pip-version-check", "--only-binary", ":all:",
                 *self.pip_args, "-r", str(req_file)],
                "installing the requirements", requirements,
            )
        os.chmod(env, 0o755)
        (env / _READY_MARKER).write_text("ok\n", encoding="utf-8")

    async def _run(self, argv: list[str], what: str, requirements: str = "") -> None:
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=pip_environment(),
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), self.pip_timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RequirementsInstallError(f"{what} timed out after {self.pip_timeout_s:.0f} s") from None
        if process.returncode != 0:
            text = output.decode(errors="replace").strip()
            logger.warning("%s failed (exit %d); output:\n%s", what, process.returncode, text)
            raise RequirementsInstallError(
                f"{what} failed (exit {process.returncode}):\n{describe_pip_failure(text, requirements)}")
