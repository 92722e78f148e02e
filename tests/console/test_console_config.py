"""The ``console:`` config section, the ``--console-listen`` flag and its environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator_service.config import ConfigError, load_config
from evaluator_service.console.web_settings import DEFAULT_TRACE_URL
from evaluator_service.environment_variables import JUDGEVAL_CONSOLE_LISTEN, JUDGEVAL_CONSOLE_READ_KEY


def load(tmp_path: Path, doc: dict[str, Any], environ: dict[str, str] | None = None,
         **flags: Any):  # type: ignore[no-untyped-def]
    path = tmp_path / "evaluator.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(config_file=str(path), environ=environ or {}, **flags)


def test_off_by_default_with_jaeger_links(tmp_path: Path) -> None:
    console = load(tmp_path, {}).console
    assert not console.enabled and console.trace_url == DEFAULT_TRACE_URL and console.secure_cookie is None


def test_flag_beats_environment_beats_yaml(tmp_path: Path) -> None:
    doc = {"api_key": "admin-key-1", "console": {"listen": "127.0.0.1:9001"}}
    env = {JUDGEVAL_CONSOLE_LISTEN: "http://127.0.0.1:9002", JUDGEVAL_CONSOLE_READ_KEY: "read-key-9"}
    assert load(tmp_path, doc).console.listen == "127.0.0.1:9001"
    from_env = load(tmp_path, doc, env).console
    assert (from_env.listen, from_env.read_only_key) == ("127.0.0.1:9002", "read-key-9")
    assert load(tmp_path, doc, env, console_listen="0.0.0.0:9003").console.listen == "0.0.0.0:9003"


def test_settings_are_read(tmp_path: Path) -> None:
    doc = {"console": {"listen": "127.0.0.1:0", "read_only_key": "readers-only", "session_ttl": "30m",
                       "secure_cookie": True, "trace_url": "https://grafana/explore?trace={trace_id}"}}
    console = load(tmp_path, doc).console
    assert (console.session_ttl_s, console.secure_cookie) == (1800, True)
    assert console.read_only_key == "readers-only"
    assert console.trace_url == "https://grafana/explore?trace={trace_id}"


@pytest.mark.parametrize(("doc", "message"), [
    ({"console": {"listen": "127.0.0.1:0"}},
     r"console.listen: the console needs a key to log in with: the admin key \(JUDGMENT_API_KEY\)"),
    ({"api_key": "k" * 10, "console": {"listen": "127.0.0.1:4320"}},
     "console.listen: 127.0.0.1:4320 is already taken by another evaluator listener"),
    ({"api_key": "same-key-1", "console": {"listen": "127.0.0.1:0", "read_only_key": "same-key-1"}},
     "console.read_only_key: must differ from the admin key"),
    ({"console": {"read_only_key": "short"}}, "console.read_only_key: must be one line of at least 8"),
    ({"console": {"trace_url": "jaeger/{trace_id}"}},
     "console.trace_url: must be an http:// or https:// URL"),
    ({"console": {"trace_url": "http://j/{trace}"}},
     r"console.trace_url: unknown field\(s\) trace \(use \{trace_id\} and \{span_id\}\)"),
    ({"console": {"trace_url": "http://j/{span_id}"}}, r"console.trace_url: must contain \{trace_id\}"),
    ({"console": {"trace_url": "http://j/{trace_id"}}, "console.trace_url: .*unmatched|expected"),
    ({"console": {"secure_cookie": "yes"}}, "console.secure_cookie: must be true or false"),
    ({"console": {"session_ttl": "soon"}}, "console.session_ttl: expected a duration"),
    ({"console": {"port": 1}}, r"console.port: unknown key \(allowed: listen, read_only_key"),
])
def test_mistakes_name_the_field(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, doc)
