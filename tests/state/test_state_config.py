"""Choosing the state database: ``--state-db`` > ``JUDGEVAL_EVALUATOR_STATE_DB`` > YAML ``state_db`` >
SQLite in the data directory; a bad URL or an unreachable database stops start-up with one line that
never shows the password."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from evaluator_service.config import ConfigError, load_config
from evaluator_service.environment_variables import JUDGEVAL_EVALUATOR_STATE_DB
from tests.support.postgres_cluster import PostgresCluster

COMMAND = [sys.executable, "-m", "evaluator_service", "--listen", "127.0.0.1:0"]
SECRET = "s3cr3t-pw"


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("JUDGEVAL_EVALUATOR_", "OTEL_"))}


def test_state_db_resolves_flag_then_env_then_yaml_then_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    yaml_file = tmp_path / "evaluator.yaml"
    yaml_file.write_text("state_db: postgresql://yaml@db:5432/judgeval\n")
    env = {JUDGEVAL_EVALUATOR_STATE_DB: "postgresql://env@db:5432/judgeval"}
    flag = "postgresql://flag@db:5432/judgeval"
    assert load_config(state_db=flag, config_file=str(yaml_file), environ=env).state_db_url == flag
    from_env = load_config(config_file=str(yaml_file), environ=env).state_db_url
    assert from_env == env[JUDGEVAL_EVALUATOR_STATE_DB]
    assert load_config(config_file=str(yaml_file), environ={}).state_db_url.startswith("postgresql://yaml@")
    default = load_config(data_dir=str(tmp_path / "data"), environ={})
    assert default.state_db is None
    assert default.state_db_url == f"sqlite:///{tmp_path / 'data' / 'state.sqlite3'}"


@pytest.mark.parametrize("url", [f"mysql://root:{SECRET}@db/judgeval", f"postgresql://u:{SECRET}@db:port/x"])
def test_unusable_url_is_a_config_error_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^state_db: ") as caught:
        load_config(state_db=url, environ={})
    assert SECRET not in str(caught.value) and "***" in str(caught.value)


def test_unreachable_postgres_exits_1_with_one_line_and_no_password(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        url = f"postgresql://judgeval:{SECRET}@127.0.0.1:{port}/judgeval"
        result = subprocess.run([*COMMAND, "--data-dir", str(tmp_path / "data"), "--state-db", url],
                                capture_output=True, text=True, timeout=60, env=clean_env())
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    masked = f"postgresql://judgeval:***@127.0.0.1:{port}/judgeval"
    assert lines[0].startswith(f"judgeval-evaluator: cannot start: state database {masked} unreachable: ")
    assert SECRET not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_evaluator_process_creates_its_schema_in_postgres(tmp_path: Path, postgres: PostgresCluster) -> None:
    url = postgres.url(postgres.new_database(), password=SECRET)
    args = [*COMMAND, "--data-dir", str(tmp_path / "data"), "--export-endpoint", "127.0.0.1:9"]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=clean_env() | {JUDGEVAL_EVALUATOR_STATE_DB: url}) as process:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert first_line.startswith("judgeval-evaluator listening on 127.0.0.1:"), stderr
    assert process.returncode == 0 and SECRET not in stderr
    with psycopg.connect(url) as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'judgeval_%'")}
    assert {"judgeval_paused_scorers", "judgeval_scorer_versions", "judgeval_state_changes",
            "judgeval_alert_status", "judgeval_alert_counts", "judgeval_alert_history",
            "judgeval_alert_outbox", "judgeval_alert_deliveries", "judgeval_alert_silences"} <= tables


def test_a_driver_message_loses_the_password_but_keeps_its_words() -> None:
    from evaluator_service.state.urls import scrub

    url = "postgresql://judgeval:p@127.0.0.1:1/db"
    message = ('connection to server at "127.0.0.1", port 1 failed: Connection refused; is the server '
               f"accepting TCP/IP connections? (dsn {url}, password=p)")
    cleaned = scrub(message, url)
    assert "port 1 failed" in cleaned and "accepting TCP/IP" in cleaned
    assert "judgeval:***@127.0.0.1" in cleaned and "password=***" in cleaned and ":p@" not in cleaned
