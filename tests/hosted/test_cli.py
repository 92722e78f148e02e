"""The ``judgeval`` console script in a subprocess against a real in-process admin server."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_cli

from .admin_server import DOCS_REQUIREMENTS, DOCS_SCORER, SCORERS, AdminServer, cli_env


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(DOCS_REQUIREMENTS)
    return path


def assert_clean_error(result: CliResult, code: int, *fragments: str) -> None:
    assert result.code == code, result
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


async def test_upload_list_show_delete(admin_server: AdminServer, requirements: Path) -> None:
    env = cli_env(admin_server)
    uploaded = await run_cli("upload_scorer", str(DOCS_SCORER), str(requirements), env=env)
    assert uploaded.code == 0, uploaded.stderr
    assert "Uploaded scorer 'Package Inquiry Scorer' version 1 (class PackageInquiryScorer" in uploaded.stdout
    listed = await run_cli("scorers", "list", env=env)
    assert "Package Inquiry Scorer" in listed.stdout and listed.code == 0
    shown = await run_cli("scorers", "show", "Package Inquiry Scorer", "--source", env=env)
    assert "environment:  installed" in shown.stdout and "requirements: pydantic, openai" in shown.stdout
    assert "class PackageInquiryScorer(ExampleScorer)" in shown.stdout
    deleted = await run_cli("scorers", "delete", "Package Inquiry Scorer", env=env)
    assert deleted.stdout.strip() == "Deleted scorer 'Package Inquiry Scorer' version 1"
    assert admin_server.registry.list_scorers() == []
    assert_clean_error(await run_cli("scorers", "show", "Package Inquiry Scorer", env=env), 1,
                       "no scorer named 'Package Inquiry Scorer'")


async def test_versions_and_overwrite(admin_server: AdminServer, requirements: Path) -> None:
    env = cli_env(admin_server)
    args = ("upload-scorer", str(DOCS_SCORER), str(requirements), "--name", "pkg")
    assert (await run_cli(*args, env=env)).code == 0
    assert_clean_error(await run_cli(*args, env=env), 1, "already exists", "--overwrite", "--new-version")
    second = await run_cli(*args, "--new-version", env=env)
    assert "'pkg' version 2" in second.stdout
    overwritten = await run_cli(*args, "--overwrite", env=env)
    assert "'pkg' version 2" in overwritten.stdout
    assert [s.version for s in admin_server.registry.versions("pkg")] == [1, 2]
    shown = await run_cli("scorers", "show", "pkg", "--version", "1", env=env)
    assert "version:      1" in shown.stdout
    await run_cli("scorers", "delete", "pkg", "--version", "2", env=env)
    assert [s.version for s in admin_server.registry.versions("pkg")] == [1]


async def test_authentication_failures(admin_server: AdminServer, requirements: Path) -> None:
    args = ("upload_scorer", str(DOCS_SCORER), str(requirements))
    wrong = await run_cli(*args, env=cli_env(admin_server, key="not-the-key"))
    assert_clean_error(wrong, 1, "rejected the API key", "JUDGMENT_API_KEY")
    missing = await run_cli(*args, env={"JUDGMENT_API_URL": admin_server.target})
    assert_clean_error(missing, 2, "no API key: set JUDGMENT_API_KEY")
    flag = await run_cli("scorers", "list", "--api-url", admin_server.target, "--api-key", "nope")
    assert_clean_error(flag, 1, "rejected the API key")
    assert admin_server.registry.list_scorers() == []


async def test_unreachable_server_names_the_url(requirements: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await run_cli("upload_scorer", str(DOCS_SCORER), str(requirements),
                           env={"JUDGMENT_API_URL": f"http://127.0.0.1:{port}", "JUDGMENT_API_KEY": "k"})
    assert_clean_error(result, 1, f"cannot reach the evaluator at http://127.0.0.1:{port}",
                       "JUDGMENT_API_URL=host:port")


async def test_local_file_errors(admin_server: AdminServer, requirements: Path, tmp_path: Path) -> None:
    env = cli_env(admin_server)
    missing = await run_cli("upload_scorer", str(tmp_path / "nope.py"), str(requirements), env=env)
    assert_clean_error(missing, 2, "scorer file not found:", "nope.py")
    no_reqs = await run_cli("upload_scorer", str(DOCS_SCORER), str(tmp_path / "req.txt"), env=env)
    assert_clean_error(no_reqs, 2, "requirements file not found")
    broken = tmp_path / "broken.py"
    broken.write_text("from judgeval.scorers.example_scorer import ExampleScorer\nclass A(ExampleScorer:\n")
    assert_clean_error(await run_cli("upload_scorer", str(broken), str(requirements), env=env), 2,
                       f"{broken}:2:", "syntax error")
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\xff\xfe\x00bad")
    result = await run_cli("upload_scorer", str(binary), str(requirements), env=env)
    assert_clean_error(result, 2, "not UTF-8")
    plain = tmp_path / "plain.py"
    plain.write_text("class A:\n    pass\n")
    assert_clean_error(await run_cli("upload_scorer", str(plain), str(requirements), env=env), 2,
                       "no scorer class found")
    assert admin_server.registry.list_scorers() == []


async def test_several_classes_need_class_flag(admin_server: AdminServer, requirements: Path) -> None:
    env = cli_env(admin_server)
    args = ("upload_scorer", str(SCORERS / "two_scorers.py"), str(requirements))
    assert_clean_error(await run_cli(*args, env=env), 2,
                       "several scorer classes found: LengthScorer (line 4), "
                       "PolitenessScorer (line 11); pick one with --class NAME")
    picked = await run_cli(*args, "--class", "PolitenessScorer", env=env)
    assert "'Politeness Scorer' version 1 (class PolitenessScorer" in picked.stdout
    assert_clean_error(await run_cli(*args, "--class", "Nope", env=env), 2, "no scorer class named 'Nope'")


async def test_requirement_errors_come_back_verbatim(admin_server: AdminServer, tmp_path: Path) -> None:
    env = cli_env(admin_server)
    bad_syntax = tmp_path / "bad.txt"
    bad_syntax.write_text("openai\n--extra-index-url https://example.invalid\n")
    result = await run_cli("upload_scorer", str(DOCS_SCORER), str(bad_syntax), env=env)
    assert_clean_error(result, 1, "requirements line 2: pip options such as '--extra-index-url'")
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("judgeval-no-such-package-xyz\n")
    result = await run_cli("upload_scorer", str(DOCS_SCORER), str(unknown), env=env)
    assert_clean_error(result, 1, "requirements could not be installed", "judgeval-no-such-package-xyz")
    assert admin_server.registry.list_scorers() == []


async def test_cli_stays_light_until_a_command_runs() -> None:
    code = "import sys, judgeval.cli; assert 'grpc' not in sys.modules, 'grpc imported eagerly'"
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    usage = await run_cli("scorers")
    assert_clean_error(usage, 2, "usage: judgeval scorers")
