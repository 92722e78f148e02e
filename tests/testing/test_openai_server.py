"""The recorded OpenAI-compatible server speaks the real wire format to the real client."""

from __future__ import annotations

import asyncio

import openai
import pytest
from judgeval.testing import RecordedOpenAIServer, Recording


@pytest.fixture
def server() -> RecordedOpenAIServer:
    recordings = [
        Recording(match=["flaky"], status=429, times=2),
        Recording(match=["flaky"], answer="finally"),
        Recording(match=["weather"], answer="sunny and warm"),
    ]
    with RecordedOpenAIServer(recordings) as s:
        yield s


def _client(server: RecordedOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)


def test_plain_completion_answers_from_the_first_matching_recording(server: RecordedOpenAIServer) -> None:
    out = _client(server).chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "What's the WEATHER?"}]
    )
    assert out.choices[0].message.content == "sunny and warm"
    assert out.model == "gpt-5-mini"
    assert out.usage is not None and out.usage.completion_tokens == 3
    assert server.requests[-1]["messages"][0]["content"] == "What's the WEATHER?"


def test_stream_reassembles_to_the_recorded_answer(server: RecordedOpenAIServer) -> None:
    chunks = list(
        _client(server).chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "weather"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "sunny and warm"
    assert chunks[-1].usage is not None


def test_status_recordings_fail_the_given_number_of_times(server: RecordedOpenAIServer) -> None:
    client = _client(server)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "flaky"}])
    out = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "flaky"}])
    assert out.choices[0].message.content == "finally"


def test_unmatched_request_is_an_explicit_error(server: RecordedOpenAIServer) -> None:
    with pytest.raises(openai.NotFoundError, match="no recorded answer"):
        _client(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "?"}])


def test_embeddings_are_deterministic(server: RecordedOpenAIServer) -> None:
    client = _client(server)
    a = client.embeddings.create(model="e", input=["late package", "late package"]).data
    assert a[0].embedding == a[1].embedding
    assert len(a[0].embedding) == 16
    assert server.requests[-1]["input"] == ["late package", "late package"]


def test_shipped_recordings_answer_the_docs_judge_prompt() -> None:
    with RecordedOpenAIServer() as s:
        out = _client(s).chat.completions.create(
            model="gpt-5-mini",
            messages=[{"role": "user", "content": "Does the response address package-related concerns?"}],
        )
    assert out.choices[0].message.content == "YES"


async def test_many_simultaneous_connections_are_all_answered() -> None:
    # A judge pool opens dozens of connections at once; a small listen backlog made the kernel reset some.
    with RecordedOpenAIServer([Recording(answer="ok", delay_ms=100)]) as s:
        client = openai.AsyncOpenAI(base_url=s.base_url, api_key="test", max_retries=0)
        answers = await asyncio.gather(
            *(
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i)}])
                for i in range(128)
            )
        )
        await client.close()
    assert [a.choices[0].message.content for a in answers] == ["ok"] * 128
    assert len(s.requests) == 128
