"""The whole loop with real processes: agents, the collector, the evaluator, Jaeger."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from collector.fixtures import allow_time_for_the_build, jaeger, otel_binaries
from judgeval.testing import RecordedOpenAIServer
from state.conftest import postgres

from tools.localstack.runner import StackEnv

__all__ = ["jaeger", "otel_binaries", "postgres"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A cold build of the binaries happens in the first binary-backed test's setup: give it time."""
    allow_time_for_the_build(items)


@pytest.fixture
def llm() -> Iterator[RecordedOpenAIServer]:
    """The one stand-in: a local OpenAI-compatible server answering the agents and the judge."""
    with RecordedOpenAIServer() as server:
        yield server


@pytest.fixture
def stack_env(tmp_path: Path, llm: RecordedOpenAIServer) -> StackEnv:
    """What the processes of one stack share: work dir, admin key, the LLM endpoint."""
    return StackEnv(
        tmp_path, secrets.token_urlsafe(16), {"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "test-key"}
    )
