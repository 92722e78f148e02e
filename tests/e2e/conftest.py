"""The whole loop with real processes: agents, the collector, the evaluator, Jaeger."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from judgeval.testing import RecordedOpenAIServer

from evaluator_service.localstack.runner import StackEnv


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
