"""The LLM judges' own OpenAI-compatible client and the mapping of its errors onto the scoring contract.

Each judge uses a plain ``openai.AsyncOpenAI`` built here, never wrapped, and calls it with OpenTelemetry
instrumentation suppressed, so the evaluator's own LLM calls are not exported and scored. The client's
built-in retries are off: the worker retries with its own backoff and rate budget.
"""

from __future__ import annotations

import os

import openai
from opentelemetry.instrumentation.utils import suppress_instrumentation

from evaluator_service.scoring.contract import FatalScorerError, ScorerCrashedError, TransientScorerError

_FATAL_STATUS = frozenset({401, 402, 403})


class JudgeClient:
    """Sends one chat prompt to an OpenAI-compatible endpoint and returns the answer text."""

    def __init__(self, model: str, base_url: str | None, api_key_env: str) -> None:
        self.model = model
        self._base_url = base_url
        self._api_key_env = api_key_env
        self._client: openai.AsyncOpenAI | None = None

    def _get_client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            api_key = os.environ.get(self._api_key_env)
            if not api_key:
                raise FatalScorerError(f"environment variable {self._api_key_env} (judge API key) is not set")
            self._client = openai.AsyncOpenAI(api_key=api_key, base_url=self._base_url, max_retries=0)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP connections of the client, if one was created."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def complete(self, prompt: str) -> str:
        """The judge's answer to ``prompt``; raises Transient/FatalScorerError on vendor errors."""
        client = self._get_client()
        try:
            # Under opentelemetry-instrument, judge calls must not become spans: a rule on chat spans would
            # score the judge's own calls, forever. (Covers instrumentations that honor suppression.)
            with suppress_instrumentation():
                response = await client.chat.completions.create(
                    model=self.model, messages=[{"role": "user", "content": prompt}], temperature=0
                )
        except openai.APIError as exc:
            raise classify_openai_error(exc) from None
        if not response.choices:
            raise TransientScorerError("judge returned no choices")
        return response.choices[0].message.content or ""


def classify_openai_error(exc: openai.APIError) -> Exception:
    """Map an ``openai`` exception to the retry/pause decision of the scoring contract."""
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return TransientScorerError(f"judge unreachable: {type(exc).__name__}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = str(getattr(exc, "code", "") or "")
        message = f"judge answered HTTP {status}: {_short(exc)}"
        if status in _FATAL_STATUS or code == "insufficient_quota" or "insufficient_quota" in message:
            return FatalScorerError(message)
        if status == 429 or status >= 500 or status == 408:
            return TransientScorerError(message)
        return ScorerCrashedError(message)
    return TransientScorerError(f"judge error: {exc}")


def _short(exc: openai.APIStatusError) -> str:
    return str(exc.message)[:200]
