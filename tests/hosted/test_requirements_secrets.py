"""Requirements cannot leak the evaluator's secrets (issue 18, defect 5): ``${...}`` is refused before pip
runs, pip runs with a scrubbed environment, and a failed install tells the uploader which requirement
failed, never pip's raw output (which goes to the evaluator's log)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from evaluator_service.registry import EnvironmentInstaller, InvalidUpload, Registry, RequirementsInstallError

from .admin_server import DOCS_SCORER

SOURCE = DOCS_SCORER.read_text()
SECRET = "s3cr3t-value-never-shown"


async def upload(registry: Registry, requirements: str):
    return await registry.upload(name="", source=SOURCE, source_filename=DOCS_SCORER.name,
                                 requirements=requirements)


@pytest.mark.parametrize("requirements", [
    "openai==${SECRET_TOKEN}\n",
    "pydantic\nopenai; python_version > '${OPENAI_API_KEY}'\n",
    "openai  # ${PIP_FIND_LINKS}\n",
    "openai==1.0 $\\\n{SECRET_TOKEN}\n",
])
async def test_environment_references_are_refused_before_pip_runs(
    registry: Registry, requirements: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SECRET_TOKEN", "OPENAI_API_KEY", "PIP_FIND_LINKS"):
        monkeypatch.setenv(name, SECRET)
    with pytest.raises(InvalidUpload, match=r"line \d: .* is not allowed; environment variables are never") \
            as caught:
        await upload(registry, requirements)
    assert SECRET not in str(caught.value)
    assert registry.list_scorers() == []


async def test_pip_sees_only_its_own_settings(registry: Registry, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # pip reads PIP_<OPTION> variables as options. Were the evaluator's whole environment passed on, this
    # constraint would make the install fail; it is not one of the settings pip is given.
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("pydantic<0.0.1\n", encoding="utf-8")
    monkeypatch.setenv("PIP_CONSTRAINT", str(constraints))
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    stored = await upload(registry, "pydantic>=0.0.2\n")
    assert registry.environment_ready(stored)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_failed_install_names_the_requirement_and_logs_pip_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    index = f"http://127.0.0.1:{closed_port()}/private-index/simple"
    monkeypatch.setenv("PIP_INDEX_URL", index)  # an index setting pip is given: it shows up in its output
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "2")
    installer = EnvironmentInstaller(tmp_path / "envs", pip_timeout_s=120)
    registry = Registry(tmp_path / "data", installer=installer)
    caplog.set_level(logging.WARNING)
    with pytest.raises(RequirementsInstallError) as caught:
        await upload(registry, "judgeval-no-such-package==9.9\n")
    message = str(caught.value)
    assert "judgeval-no-such-package==9.9" in message
    assert "private-index" not in message and "Looking in indexes" not in message
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "private-index" in logged, "pip's full output is kept in the evaluator's log"
    assert registry.list_scorers() == []
