"""The LLM client against a real HTTP server: which vendor errors retry and which pause the scorer."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from judgeval.testing import RecordedOpenAIServer, Recording

from evaluator_service.scoring.builtin.judges import parse_judgement
from evaluator_service.scoring.contract import (
    FatalScorerError,
    ScorerCrashedError,
    ScoringError,
    TransientScorerError,
)
from evaluator_service.scoring.llm_client import (
    MAX_ANSWER_BYTES,
    LLMClient,
    answer_text,
    classify_status,
    env_proxy,
    vendor_error_message,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, FatalScorerError),
        (402, FatalScorerError),
        (403, FatalScorerError),
        (408, TransientScorerError),
        (429, TransientScorerError),
        (500, TransientScorerError),
        (503, TransientScorerError),
        (400, ScorerCrashedError),
    ],
)
async def test_vendor_status_maps_to_retry_or_pause(monkeypatch, status: int, expected: type[ScoringError]):
    monkeypatch.setenv("JUDGE_KEY", "k")
    with RecordedOpenAIServer([Recording(status=status)]) as server:
        client = LLMClient("m", server.base_url, "JUDGE_KEY")
        with pytest.raises(expected, match=f"HTTP {status}"):
            await client.complete("prompt")
        await client.aclose()


async def test_unreachable_judge_is_transient(monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "k")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        client = LLMClient("m", f"http://127.0.0.1:{port}/v1", "JUDGE_KEY")
        with pytest.raises(TransientScorerError, match="judge unreachable"):
            await client.complete("prompt")
        await client.aclose()


async def test_vendor_message_is_in_the_reason(monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "k")
    with RecordedOpenAIServer([Recording(match=["other prompt"], answer="x")]) as server:
        client = LLMClient("m", server.base_url, "JUDGE_KEY")
        with pytest.raises(ScorerCrashedError, match=r"HTTP 404: no recorded answer .*\(not_found_error\)"):
            await client.complete("prompt")
        await client.aclose()


async def test_answer_and_request_round_trip(monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "k")
    with RecordedOpenAIServer([Recording(match=["rate this"], answer='{"score": 1}')]) as server:
        client = LLMClient("judge-model", server.base_url + "/", "JUDGE_KEY")
        assert await client.complete("Rate this answer") == '{"score": 1}'
        assert await client.complete("rate this again") == '{"score": 1}'  # on the pooled connection
        await client.aclose()
    assert server.requests[0] == {
        "model": "judge-model",
        "messages": [{"role": "user", "content": "Rate this answer"}],
        "temperature": 0,
    }


async def test_base_url_falls_back_to_openai_base_url(monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "k")
    with RecordedOpenAIServer([Recording(answer="YES")]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        client = LLMClient("m", None, "JUDGE_KEY")
        assert await client.complete("prompt") == "YES"
        await client.aclose()


async def test_missing_api_key_pauses_the_scorer(monkeypatch):
    monkeypatch.delenv("JUDGE_KEY", raising=False)
    client = LLMClient("m", "http://127.0.0.1:9/v1", "JUDGE_KEY")
    with pytest.raises(FatalScorerError, match="JUDGE_KEY"):
        await client.complete("prompt")


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    yield monkeypatch


@pytest.fixture
def closed_port() -> Iterator[str]:
    """``host:port`` on loopback that refuses connections (bound, not listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        yield f"127.0.0.2:{sock.getsockname()[1]}"


async def test_proxy_comes_from_the_environment(no_proxy_env, closed_port):
    no_proxy_env.setenv("JUDGE_KEY", "k")
    with RecordedOpenAIServer([Recording(answer="via proxy")]) as proxy:
        # The judge's own host refuses connections: only a request sent through the proxy is answered.
        no_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        client = LLMClient("m", f"http://{closed_port}/v1", "JUDGE_KEY")
        assert await client.complete("prompt") == "via proxy"
        await client.aclose()


async def test_no_proxy_exempts_the_judge(no_proxy_env, closed_port):
    no_proxy_env.setenv("JUDGE_KEY", "k")
    with RecordedOpenAIServer([Recording(answer="via proxy")]) as proxy:
        no_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        no_proxy_env.setenv("NO_PROXY", "127.0.0.2")
        client = LLMClient("m", f"http://{closed_port}/v1", "JUDGE_KEY")
        with pytest.raises(TransientScorerError, match="judge unreachable"):
            await client.complete("prompt")
        await client.aclose()
        assert proxy.requests == []


def test_env_proxy_by_scheme(no_proxy_env):
    no_proxy_env.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert env_proxy("https://api.openai.com/v1/chat/completions") == "http://proxy.example:3128"
    assert env_proxy("http://judge.internal/v1/chat/completions") is None
    no_proxy_env.setenv("ALL_PROXY", "http://all.example:3128")
    assert env_proxy("http://judge.internal/v1/chat/completions") == "http://all.example:3128"


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (429, "You exceeded your current quota (insufficient_quota)", FatalScorerError),
        (429, "Rate limit reached (rate_limit_exceeded)", TransientScorerError),
        (502, "bad gateway", TransientScorerError),
        (422, "unprocessable", ScorerCrashedError),
    ],
)
def test_classify_status(status: int, message: str, expected: type[ScoringError]):
    error = classify_status(status, message)
    assert type(error) is expected
    assert str(error) == f"judge answered HTTP {status}: {message}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": {"message": "Bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}',
         "Bad key (invalid_api_key, invalid_request_error)"),
        (b'{"error": {"message": "Slow down"}}', "Slow down"),
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
        (b"", "(empty body)"),
    ],
)
def test_vendor_error_message(body: bytes, message: str):
    assert vendor_error_message(body) == message


def test_answer_text_of_unusual_bodies():
    assert answer_text(b'{"choices": [{"message": {"content": null}}]}') == ""
    with pytest.raises(TransientScorerError, match="no choices"):
        answer_text(b'{"choices": []}')
    with pytest.raises(TransientScorerError, match="not JSON"):
        answer_text(b"<html>")
    with pytest.raises(TransientScorerError, match="without a choices list"):
        answer_text(b'{"error": null}')


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


async def test_oversized_judge_answer_is_refused_without_reading_it_all(monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "k")
    huge = '{"score": 1, "reason": "' + "x" * (MAX_ANSWER_BYTES + 10) + '"}'
    with RecordedOpenAIServer([Recording(match=["big"], answer=huge), Recording(match=["small"], answer="1")]
                              ) as server:
        client = LLMClient("m", server.base_url, "JUDGE_KEY")
        with pytest.raises(ScorerCrashedError, match=f"judge answered with over {MAX_ANSWER_BYTES} bytes"):
            await client.complete("big")
        assert await client.complete("small") == "1"  # the client is still usable
        await client.aclose()


def test_judgement_parsing_is_linear_on_adversarial_answers():
    # A judge can be led to echo span text; with a backtracking engine this answer took minutes.
    answer = "{" * 200_000 + " score 0.5"
    assert parse_judgement(answer).value == 0.5
