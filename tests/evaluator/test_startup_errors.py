"""Each user mistake at startup, run through the real command: one clear line on stderr, no traceback, no
gRPC log line, the exit status of its kind (2: the configuration is invalid, 1: a resource refused).

Every case starts ``python -m evaluator_service`` as a user would, with the mistake in its arguments or
files, and reads what it printed. A case that starts serving instead would hang until the timeout: that is
a failure too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evaluator_service.server_command import EXIT_CONFIG_ERROR, EXIT_START_ERROR
from tests.evaluator.certificates import make_certificates

COMMAND = [sys.executable, "-m", "evaluator_service"]


@dataclass(frozen=True)
class Mistake:
    """Arguments carrying one mistake (made under ``tmp_path``, with a port someone else holds), and what the
    one line must say."""

    arguments: Callable[[Path, int], list[str]]
    status: int
    says: str


def _yaml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "evaluator.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _tls(tmp_path: Path, cert: Path, key: Path) -> list[str]:
    return ["--config", _yaml(tmp_path, f"ingress:\n  tls:\n    cert_file: {cert}\n    key_file: {key}\n")]


def _garbage_tls(tmp_path: Path, _: int) -> list[str]:
    (tmp_path / "server.crt").write_text("not a certificate\n")
    (tmp_path / "server.key").write_text("not a key\n")
    return _tls(tmp_path, tmp_path / "server.crt", tmp_path / "server.key")


def _key_of_another_certificate(tmp_path: Path, _: int) -> list[str]:
    certificates = make_certificates(tmp_path / "certs")
    return _tls(tmp_path, certificates.server_cert, certificates.client_key)


def _file(tmp_path: Path, name: str, content: bytes = b"") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _queue_file_not_a_database(tmp_path: Path, _: int) -> list[str]:
    (tmp_path / "data").mkdir()
    _file(tmp_path / "data", "queue.sqlite3", b"this is no SQLite database, it only has the name of one" * 20)
    return ["--data-dir", str(tmp_path / "data")]


MISTAKES = {
    "garbage TLS certificate": Mistake(_garbage_tls, EXIT_START_ERROR, "TLS certificate or key unusable"),
    "TLS key of another certificate": Mistake(
        _key_of_another_certificate, EXIT_START_ERROR, "TLS certificate or key unusable"),
    "gRPC port in use": Mistake(
        lambda tmp_path, port: ["--listen", f"127.0.0.1:{port}"], EXIT_START_ERROR,
        "cannot listen on 127.0.0.1:{port}: address already in use"),
    "HTTP port in use": Mistake(
        lambda tmp_path, port: ["--config", _yaml(tmp_path, f"ingress:\n  http_listen: 127.0.0.1:{port}\n")],
        EXIT_START_ERROR, "cannot listen on 127.0.0.1:{port}: address already in use"),
    "listen address of another machine": Mistake(
        lambda tmp_path, port: ["--listen", "192.0.2.1:0"], EXIT_START_ERROR,
        "cannot listen on 192.0.2.1:0: cannot assign requested address"),
    "data dir is a file": Mistake(
        lambda tmp_path, port: ["--data-dir", str(_file(tmp_path, "data"))], EXIT_START_ERROR,
        "data dir {tmp}/data: not a directory"),
    "data dir below a file": Mistake(
        lambda tmp_path, port: ["--data-dir", str(_file(tmp_path, "data") / "queue")], EXIT_START_ERROR,
        "data dir {tmp}/data/queue: not a directory"),
    "queue file not a database": Mistake(
        _queue_file_not_a_database, EXIT_START_ERROR,
        "queue file {tmp}/data/queue.sqlite3 unusable: file is not a database"),
    "state database unreachable": Mistake(
        lambda tmp_path, port: ["--state-db", "postgresql://judgeval:secret@127.0.0.1:1/state"],  # refused
        EXIT_START_ERROR, "state database postgresql://judgeval:***@127.0.0.1:1/state unreachable"),
    "state database below a file": Mistake(
        lambda tmp_path, port: ["--state-db", f"sqlite:///{_file(tmp_path, 'state')}/state.sqlite3"],
        EXIT_START_ERROR, "{tmp}/state: not a directory"),
    "state database file not a database": Mistake(
        lambda tmp_path, port: ["--state-db", f"sqlite:///{_file(tmp_path, 'state.sqlite3', b'x' * 4096)}"],
        EXIT_START_ERROR, "state.sqlite3: file is not a database"),
    "config file not UTF-8": Mistake(
        lambda tmp_path, port: ["--config", str(_file(tmp_path, "evaluator.yaml", b"listen: \xff\xfe\n"))],
        EXIT_CONFIG_ERROR, "config error: config file {tmp}/evaluator.yaml: not UTF-8 text (byte 8)"),
    "config file not YAML": Mistake(
        lambda tmp_path, port: ["--config", _yaml(tmp_path, "scoring: [unclosed\n")], EXIT_CONFIG_ERROR,
        "config error: config file {tmp}/evaluator.yaml line 2: not valid YAML"),
    "rule scope naming an instrumentation scope": Mistake(
        lambda tmp_path, port: ["--config", _yaml(
            tmp_path, "rules:\n  - {name: r, scope: openai, when: {a: 1}, scorer: pii}\n")],
        EXIT_CONFIG_ERROR,
        "rules[0].scope: must be one of span, trace, session (what the rule scores), got 'openai'; to match "
        "the instrumentation scope name write instrumentation_scope: openai"),
    "config file missing": Mistake(
        lambda tmp_path, port: ["--config", str(tmp_path / "absent.yaml")], EXIT_CONFIG_ERROR,
        "config error: config file {tmp}/absent.yaml: No such file or directory"),
}


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on (without ``SO_REUSEPORT``, as most programs do)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=list(MISTAKES))
def test_a_startup_mistake_is_one_clear_line(mistake: Mistake, tmp_path: Path, taken_port: int):
    arguments = ["--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data-default"),
                 *mistake.arguments(tmp_path, taken_port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUDGEVAL_EVALUATOR_", "OTEL_", "GRPC_"))}
    done = subprocess.run([*COMMAND, *arguments], capture_output=True, text=True, timeout=60, env=env,
                          cwd=tmp_path)
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert mistake.says.format(tmp=tmp_path, port=taken_port) in done.stderr
    assert done.returncode == mistake.status
    if mistake.status == EXIT_START_ERROR:
        assert done.stderr.startswith("judgeval-evaluator: cannot start: ")
