"""The judge client against a real HTTP server: which vendor errors retry and which pause the scorer."""

from __future__ import annotations

import socket

import pytest
from judgeval.testing.openai_server import RecordedOpenAIServer, Recording

from evaluator_service.scoring.builtin.judge_client import JudgeClient
from evaluator_service.scoring.builtin.judges import parse_judgement
from evaluator_service.scoring.contract import (
    FatalScorerError,
    ScorerCrashedError,
    ScoringError,
    TransientScorerError,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, FatalScorerError),
        (402, FatalScorerError),
        (403, FatalScorerError),
        (429, TransientScorerError),
        (500, TransientScorerError),
        (503, TransientScorerError),
        (400, ScorerCrashedError),
    ],
)
async def test_vendor_status_maps_to_retry_or_pause(monkeypatch, status: int, expected: type[ScoringError]):
    monkeypatch.setenv("JUDGE_KEY", "k")
    with RecordedOpenAIServer([Recording(status=status)]) as server:
        client = JudgeClient("m", server.base_url, "JUDGE_KEY")
        with pytest.raises(expected, match=f"HTTP {status}"):
            await client.complete("prompt")
        await client.aclose()


async def test_unreachable_judge_is_transient(monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "k")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        client = JudgeClient("m", f"http://127.0.0.1:{port}/v1", "JUDGE_KEY")
        with pytest.raises(TransientScorerError, match="judge unreachable"):
            await client.complete("prompt")
        await client.aclose()


@pytest.mark.parametrize(
    ("answer", "scale", "value", "reason"),
    [
        ('{"score": 0.4, "reason": "meh"}', 1.0, 0.4, "meh"),
        ('Here you go:\n```json\n{"score": 1, "reason": "great"}\n```', 1.0, 1.0, "great"),
        ("NO. It ignores the question.", 1.0, 0.0, "NO. It ignores the question."),
        ("7/10", 10.0, 0.7, "7/10"),
        ("15", 10.0, 1.0, "15"),
    ],
)
def test_parse_judgement(answer: str, scale: float, value: float, reason: str):
    outcome = parse_judgement(answer, scale)
    assert outcome.value == pytest.approx(value)
    assert outcome.reason == reason


def test_unparseable_judgement_is_a_scorer_error():
    with pytest.raises(ScorerCrashedError, match="judge answer has no score"):
        parse_judgement("I cannot help with that.")
