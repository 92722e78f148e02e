"""``judgeval-evaluator --console-listen`` as a real process: the console's start-up line, its login page,
and the one-line config error when no key could log in."""

from __future__ import annotations

import signal
import subprocess
import urllib.request
from pathlib import Path

from tests.evaluator.test_cli import COMMAND, clean_env


def test_console_flag_serves_the_login_page(tmp_path: Path) -> None:
    args = ["--listen", "127.0.0.1:0", "--console-listen", "127.0.0.1:0",
            "--data-dir", str(tmp_path / "data"), "--api-key", "admin-key-for-console"]
    with (tmp_path / "stderr.log").open("w") as stderr, subprocess.Popen(
            [*COMMAND, *args], stdout=subprocess.PIPE, stderr=stderr, text=True, env=clean_env()) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().startswith("judgeval-evaluator listening on 127.0.0.1:")
            line = process.stdout.readline().strip()
            assert line.startswith("judgeval-evaluator console on http://127.0.0.1:"), line
            url = line.rsplit(" ", 1)[1]
            with urllib.request.urlopen(url + "login", timeout=10) as response:
                page = response.read().decode()
            assert response.status == 200 and 'name="key" type="password"' in page
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()


def test_console_without_any_key_is_a_config_error(tmp_path: Path) -> None:
    env = {k: v for k, v in clean_env().items() if k not in ("JUDGMENT_API_KEY", "JUDGEVAL_CONSOLE_READ_KEY")}
    result = subprocess.run([*COMMAND, "--console-listen", "127.0.0.1:0", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == ("config error: console.listen: the console needs a key to log in with: "
                                      "the admin key (JUDGMENT_API_KEY) or console.read_only_key")
