"""Sandbox settings that come from evaluator flags (``--scorer-env``, ``--scorer-network``)."""

from __future__ import annotations

import argparse

import pytest

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
        ({"network": "bridge"}, "must be 'host' or 'none'"),
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
