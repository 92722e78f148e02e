"""The backfill stack: the real Jaeger (from tests/support), the real collector in front of it, a real
evaluator process, and the one stand-in, a local OpenAI-compatible judge."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from judgeval.testing.openai_server import RecordedOpenAIServer, Recording

from tools.localstack.runner import StackEnv

JUDGE_ANSWERS = [
    Recording(match=["parcel"], answer='{"score": 1, "reason": "answers the parcel question"}'),
    Recording(match=["refund"], answer='{"score": 0, "reason": "ignores the refund question"}'),
    Recording(match=["invoice"], answer='{"score": 1, "reason": "answers the invoice question"}'),
    Recording(match=["warranty"], answer='{"score": 1, "reason": "answers the warranty question"}'),
]


@pytest.fixture
def judge() -> Iterator[RecordedOpenAIServer]:
    with RecordedOpenAIServer(JUDGE_ANSWERS) as server:
        yield server


@pytest.fixture
def stack_env(tmp_path: Path, judge: RecordedOpenAIServer) -> StackEnv:
    return StackEnv(tmp_path, secrets.token_urlsafe(16),
                    {"OPENAI_BASE_URL": judge.base_url, "OPENAI_API_KEY": "test-key"})
