"""``pip install judgeval-otel`` (no extra) into a fresh venv, as on a user's machine.

One venv per module: this repository's files (tracked and new, as git sees them) are copied aside and
installed non-editable with pip, dependencies from the package index through pip's own cache, next to the
quickstart's ``requirements.txt``. Then the docs' quickstart agent answers through a recorded OpenAI server
and exports to a real OTLP receiver, no server dependency is installed, the ``judgeval`` CLI works, and
``judgeval-evaluator`` (and ``python -m evaluator_service``) prints one line saying what to install.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from judgeval.testing import OtlpTraceReceiver, RecordedOpenAIServer, Recording

from evaluator_service.entry_point import INSTALL_COMMAND, extra_requirements

pytestmark = pytest.mark.timeout(900)

REPO_ROOT = Path(__file__).resolve().parents[2]
CUSTOMER_SERVICE = REPO_ROOT / "examples" / "customer_service"
SERVER_ONLY = {
    "psycopg": "psycopg",
    "aiohttp": "aiohttp",
    "jsonschema": "jsonschema",
    "PyYAML": "yaml",
    "grpcio-health-checking": "grpc_health",
    "google-re2": "re2",
    "aiosmtplib": "aiosmtplib",
    "scipy": "scipy",
}
"""Distributions only the evaluator needs, with the module each one provides."""

ANSWER = "Your package left our warehouse this morning (recorded answer for the plain-install test)."

INSPECT = """
import importlib, importlib.metadata as md, importlib.util, json, pkgutil, sys
import judgeval
names, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def installed(name):
    try:
        md.distribution(name)
        return True
    except md.PackageNotFoundError:
        return False
def import_error(module):
    try:
        importlib.import_module(module)
        return None
    except Exception as exc:
        return repr(exc)
sdk_modules = [m.name for m in pkgutil.walk_packages(judgeval.__path__, "judgeval.")]
print(json.dumps({
    "judgeval": judgeval.__file__,
    "sdk_modules": sdk_modules,
    "unimportable": {m: e for m in sdk_modules if (e := import_error(m)) is not None},
    "requires": md.requires("judgeval-otel"),
    "license": md.metadata("judgeval-otel").get("License-Expression"),
    "installed": [n for n in names if installed(n)],
    "importable": [m for m in modules if importlib.util.find_spec(m) is not None],
}))
"""


@dataclass(frozen=True)
class PlainInstall:
    """A venv holding ``judgeval-otel`` without extras; ``log`` is pip's verbose output."""

    venv: Path
    log: str

    def command(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would let the venv see another Python's packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, **extra}


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env or _clean_env(), capture_output=True, text=True,
                          timeout=timeout)


def _copy_source(dest: Path) -> None:
    """The files git would commit from this checkout (tracked or new, not ignored), so stale build
    output, virtualenvs and caches never reach the package."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlainInstall]:
    """Built once per module; removed afterwards (a venv is ~150 MB, pytest keeps its last three runs)."""
    root = tmp_path_factory.mktemp("plain-install")
    source, venv = root / "judgeval-otel", root / "venv"
    _copy_source(source)
    created = _run([sys.executable, "-m", "venv", str(venv)])
    assert created.returncode == 0, created.stderr
    installed = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-v", str(source),
         "-r", str(CUSTOMER_SERVICE / "requirements.txt")],
        timeout=780,
    )
    assert installed.returncode == 0, installed.stdout[-4000:] + installed.stderr[-4000:]
    yield PlainInstall(venv=venv, log=installed.stdout + installed.stderr)
    shutil.rmtree(root)


@pytest.fixture(scope="module")
def inspected(plain_install: PlainInstall, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """What the venv holds, asked from inside it (from a directory with no sources in it)."""
    done = _run([plain_install.command("python"), "-c", INSPECT, json.dumps(list(SERVER_ONLY)),
                 json.dumps(list(SERVER_ONLY.values()))], cwd=tmp_path_factory.mktemp("inspect"))
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_quickstart_agent_answers_and_exports_its_trace(plain_install: PlainInstall) -> None:
    recording = Recording(match=["Where is my package?"], answer=ANSWER)
    with OtlpTraceReceiver() as receiver, RecordedOpenAIServer([recording]) as openai_server:
        env = _clean_env(
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{receiver.endpoint}",
            OPENAI_BASE_URL=openai_server.base_url,
            OPENAI_API_KEY="test",
        )
        done = _run([plain_install.command("python"), "agent.py"], cwd=CUSTOMER_SERVICE, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == ANSWER
        spans = receiver.wait_for(lambda s: {"run", "handle_request"} <= {span.name for span in s})
    handle = next(span for span in spans if span.name == "handle_request")
    assert handle.attributes["gen_ai.agent.name"] == "CustomerServiceAgent"
    assert handle.resource["service.name"] == "customer_service"


def test_the_installed_copy_is_the_one_imported(
    plain_install: PlainInstall, inspected: dict[str, object]
) -> None:
    assert Path(str(inspected["judgeval"])).is_relative_to(plain_install.venv)


def test_every_sdk_module_imports_without_the_extra(inspected: dict[str, object]) -> None:
    walked = set(inspected["sdk_modules"])  # type: ignore[call-overload]
    assert {"judgeval.tracer", "judgeval.cli.commands", "judgeval.instrumentation.distro",
            "judgeval.testing.otlp_receiver"} <= walked
    assert inspected["unimportable"] == {}


def test_no_server_dependency_is_installed(inspected: dict[str, object]) -> None:
    assert inspected["installed"] == []
    assert inspected["importable"] == []


def test_the_server_dependencies_are_declared_in_the_extra_only(inspected: dict[str, object]) -> None:
    requires = [str(r) for r in inspected["requires"]]  # type: ignore[attr-defined]
    plain = [r for r in requires if ";" not in r]
    assert [r for r in plain if any(r.lower().startswith(name.lower()) for name in SERVER_ONLY)] == []
    assert set(SERVER_ONLY) <= set(extra_requirements(requires))


def test_the_build_uses_the_spdx_license_without_deprecation(
    plain_install: PlainInstall, inspected: dict[str, object]
) -> None:
    assert inspected["license"] == "Apache-2.0"
    assert "Building wheel for judgeval-otel" in plain_install.log
    assert "SetuptoolsDeprecationWarning" not in plain_install.log


def test_the_evaluator_command_says_what_to_install(plain_install: PlainInstall, tmp_path: Path) -> None:
    # With the extra installed, the missing config file would end the run at once (exit 2) instead.
    done = _run([plain_install.command("judgeval-evaluator"), "--listen", "127.0.0.1:0",
                 "--config", str(tmp_path / "missing.yaml")], cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert INSTALL_COMMAND in line
    assert "psycopg" in line


def test_python_m_evaluator_service_says_the_same_line(plain_install: PlainInstall, tmp_path: Path) -> None:
    arguments = ["--listen", "127.0.0.1:0", "--config", str(tmp_path / "missing.yaml")]
    command = _run([plain_install.command("judgeval-evaluator"), *arguments], cwd=tmp_path)
    module = _run([plain_install.command("python"), "-m", "evaluator_service", *arguments], cwd=tmp_path)
    assert (module.returncode, module.stdout, module.stderr) == (1, "", command.stderr)
    assert "Traceback" not in module.stderr and INSTALL_COMMAND in module.stderr


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


def test_the_cli_runs_without_the_server_dependencies(plain_install: PlainInstall, free_port: int) -> None:
    env = _clean_env(JUDGMENT_API_URL=f"127.0.0.1:{free_port}", JUDGMENT_API_KEY="k")
    done = _run([plain_install.command("judgeval"), "scorers", "list"], env=env)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert f"cannot reach the evaluator at 127.0.0.1:{free_port}" in line
