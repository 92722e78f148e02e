"""Sandbox settings: the YAML ``sandbox:`` section, the ``--scorer-*`` flags, and flag > YAML > default."""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator_service.config import ConfigError, load_config
from evaluator_service.sandbox import (
    DEFAULT_SCORER_ENV,
    SandboxConfig,
    SandboxLimits,
    add_sandbox_arguments,
    parse_scorer_env,
    sandbox_config_from_args,
)


def test_scorer_env_option_parsing() -> None:
    assert parse_scorer_env(" OPENAI_API_KEY, MY_TOKEN ,") == ("OPENAI_API_KEY", "MY_TOKEN")
    assert parse_scorer_env("") == ()
    assert "OPENAI_BASE_URL" in DEFAULT_SCORER_ENV


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env_allowlist": ("JUDGMENT_API_KEY",)}, "admin secret"),
        ({"env_allowlist": ("NOT-A-NAME",)}, "is not an environment variable name"),
        ({"network": "bridge"}, "must be proxy, none or host"),
        ({"isolation": "none"}, "network 'proxy' needs isolation 'bwrap'"),
        ({"egress_allow": ("api.openai.com",)}, "'api.openai.com' is not host:port"),
        ({"workers_per_scorer": 0}, "at least 1"),
        ({"worker_concurrency": 0}, "--scorer-worker-concurrency\\) must be at least 1"),
        ({"limits": SandboxLimits(max_requests_per_worker=0)}, "--scorer-max-requests\\) must be at least 1"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SandboxConfig(**kwargs)


def test_evaluator_flags_build_the_config() -> None:
    parser = argparse.ArgumentParser()
    add_sandbox_arguments(parser)
    args = parser.parse_args(["--scorer-env", "OPENAI_API_KEY,MY_JUDGE_TOKEN", "--scorer-network", "none",
                              "--scorer-timeout", "5", "--scorer-memory-mb", "300",
                              "--scorer-max-requests", "50", "--scorer-worker-concurrency", "4"])
    config = sandbox_config_from_args(args)
    assert config.env_allowlist == ("OPENAI_API_KEY", "MY_JUDGE_TOKEN")
    limits = config.limits
    assert (config.network, limits.wall_timeout_s, limits.memory_bytes) == ("none", 5, 300 << 20)
    assert (limits.max_requests_per_worker, config.worker_concurrency) == (50, 4)
    assert sandbox_config_from_args(parser.parse_args([])) == SandboxConfig()


def _yaml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "evaluator.yaml"
    path.write_text(text)
    return str(path)


def test_yaml_section_sets_every_setting(tmp_path: Path) -> None:
    config = load_config(config_file=_yaml(tmp_path, """
sandbox:
  env: [OPENAI_API_KEY, MY_JUDGE_TOKEN]
  network: none
  isolation: bwrap
  uid_base: 3000000
  uid_count: 10
  egress_allow: ["judge.internal:8443"]
  cpus: 0.5
  work_dir_mb: 16
  llm_calls_per_span: 3
  llm_calls_per_s_per_scorer: 7
  workers: 3
  worker_concurrency: 4
  timeout_s: 5
  startup_timeout_s: 7
  memory_mb: 300
  cpu_seconds: 30
  file_size_mb: 8
  max_processes: 16
  output_cap_bytes: 1024
  max_requests: 50
  idle_timeout_s: 9
"""), environ={}).sandbox
    assert config.env_allowlist == ("OPENAI_API_KEY", "MY_JUDGE_TOKEN")
    assert (config.network, config.isolation) == ("none", "bwrap")
    assert (config.uid_base, config.uid_count) == (3000000, 10)
    assert config.egress_allow == ("judge.internal:8443",)
    assert (config.workers_per_scorer, config.worker_concurrency) == (3, 4)
    assert config.limits == SandboxLimits(
        wall_timeout_s=5, startup_timeout_s=7, cpu_seconds=30, memory_bytes=300 << 20,
        file_size_bytes=8 << 20, max_processes=16, output_cap_bytes=1024, max_requests_per_worker=50,
        idle_timeout_s=9, cpus=0.5, work_dir_bytes=16 << 20, llm_calls_per_request=3,
        llm_calls_per_s_per_scorer=7,
    )


def test_no_section_and_an_empty_env_list(tmp_path: Path) -> None:
    assert load_config(environ={}).sandbox == SandboxConfig()
    empty_env = load_config(config_file=_yaml(tmp_path, "sandbox: {env: []}"), environ={})
    assert empty_env.sandbox.env_allowlist == ()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("sandbox: [1]", "sandbox: must be a mapping"),
        ("sandbox: {worker: 2}", "sandbox.worker: unknown key (allowed: "),
        ("sandbox: {workers: 0}", "sandbox.workers: must be >= 1, got 0"),
        ("sandbox: {worker_concurrency: 1.5}", "sandbox.worker_concurrency: must be an integer, got 1.5"),
        ("sandbox: {max_requests: 0}", "sandbox.max_requests: must be >= 1, got 0"),
        ("sandbox: {timeout_s: 0}", "sandbox.timeout_s: must be > 0, got 0"),
        ("sandbox: {memory_mb: lots}", "sandbox.memory_mb: must be an integer, got 'lots'"),
        ("sandbox: {network: bridge}", "sandbox.network: must be one of proxy, none, host, got 'bridge'"),
        ("sandbox: {isolation: docker}", "sandbox.isolation: must be one of bwrap, none, got"),
        ("sandbox: {env: OPENAI_API_KEY}", "sandbox.env: must be a list of environment variable names"),
        ("sandbox: {env: [OK, NOT-A-NAME]}", "sandbox.env[1]: 'NOT-A-NAME' is not an environment variable"),
        ("sandbox: {env: [JUDGMENT_API_KEY]}", "sandbox.env[0]: JUDGMENT_API_KEY is the admin secret"),
    ],
)
def test_yaml_mistakes_name_the_key(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config_file=_yaml(tmp_path, section), environ={})
    assert message in str(info.value)


def test_a_flag_wins_over_yaml_which_wins_over_the_default(tmp_path: Path) -> None:
    yaml_config = load_config(config_file=_yaml(tmp_path, """
sandbox: {workers: 5, timeout_s: 9, memory_mb: 200, network: none, env: [A_TOKEN]}
"""), environ={}).sandbox
    parser = argparse.ArgumentParser()
    add_sandbox_arguments(parser)
    config = sandbox_config_from_args(parser.parse_args(["--scorer-workers", "7", "--scorer-env", "B_TOKEN"]),
                                      yaml_config)
    assert (config.workers_per_scorer, config.env_allowlist) == (7, ("B_TOKEN",))  # flags
    limits = config.limits
    assert (limits.wall_timeout_s, limits.memory_bytes, config.network) == (9, 200 << 20, "none")  # YAML
    assert config.worker_concurrency == SandboxConfig().worker_concurrency  # neither: the default
    assert sandbox_config_from_args(parser.parse_args([]), yaml_config) == yaml_config


def test_a_bad_flag_is_a_config_error_naming_it() -> None:
    parser = argparse.ArgumentParser()
    add_sandbox_arguments(parser)
    with pytest.raises(ConfigError, match="--scorer-max-requests"):
        sandbox_config_from_args(parser.parse_args(["--scorer-max-requests", "0"]))


def test_the_evaluator_exits_2_on_a_bad_sandbox_section(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "evaluator_service", "--config", _yaml(tmp_path, "sandbox: {workers: 0}"),
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "config error: sandbox.workers: must be >= 1, got 0"


def test_a_runtime_under_tmp_is_bound_over_the_private_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    # A checkout or venv under /tmp (CI clones there) must stay visible inside the sandbox: bubblewrap applies
    # its options in order, so the private tmpfs must come before the read-only binds of the runtime.
    from evaluator_service.sandbox import plan
    from evaluator_service.sandbox.config import SandboxConfig

    monkeypatch.setattr(plan, "runtime_paths", lambda python: ["/tmp/checkout", "/usr/lib/python3.11"])
    args = plan.bwrap_arguments(SandboxConfig(), python=Path(sys.executable), module_file="s.py",
                                files=plan.LaunchFiles(3, 4), egress_socket=None)
    pairs = list(itertools.pairwise(args))  # (option, value) and (value, next option) alike
    assert pairs.index(("--tmpfs", "/tmp")) < pairs.index(("--ro-bind", "/tmp/checkout"))
