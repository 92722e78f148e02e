"""The evaluator's own LLM client for an OpenAI-compatible ``POST {base_url}/chat/completions``, and the
mapping of vendor errors onto the scoring contract.

LLM judges (:mod:`evaluator_service.scoring.builtin.judges`) and behavior naming
(:mod:`evaluator_service.behaviors.naming`) both call it, and behavior embeddings map their vendor errors
with :func:`classify_openai_error`, so it lives beside both rather than inside either.

Judges need one endpoint, one prompt in and one text out, so :class:`LLMClient` speaks it directly over a
pooled ``aiohttp`` session instead of going through the ``openai`` SDK: the SDK's request building,
response models and HTTP layers cost about 2 ms of CPU per call, which capped a whole evaluator at a few
hundred judged spans per second (benchmarks/README.md, finding 5); this client costs about 0.2 ms. Like
the SDK it takes the proxy from the environment, verifies TLS, times out (10 minutes, 5 s to connect) and
never retries: the scorer runner retries with its own backoff and rate budget. It reads at most
:data:`MAX_ANSWER_BYTES` of an answer. Calls run with OpenTelemetry
instrumentation suppressed, so the evaluator's own LLM calls are not exported and scored.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, TypeGuard

import aiohttp
import openai
from opentelemetry.instrumentation.utils import suppress_instrumentation

from evaluator_service.scoring.contract import FatalScorerError, ScorerCrashedError, TransientScorerError
from evaluator_service.scoring.judge_prices import ModelPrice

DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""Where judges go when neither the scorer's ``base_url`` nor :data:`BASE_URL_ENV` is set."""

BASE_URL_ENV = "OPENAI_BASE_URL"
"""Read when a judge has no ``base_url`` of its own, as the ``openai`` client does."""

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=600, sock_connect=5)
"""The ``openai`` client's defaults; the runner's ``scoring.timeout_s`` normally ends a call first."""

MAX_ANSWER_BYTES = 1024 * 1024
"""Largest judge response body read; a larger one fails the call (a chat answer is a few KiB)."""

MAX_CONNECTIONS = 1000
"""Pool size per judge (the ``openai`` client's); ``scoring.concurrency`` is the real bound."""

_FATAL_STATUS = frozenset({401, 402, 403})
_TRANSIENT_STATUS = frozenset({408, 429})
_MESSAGE_LIMIT = 200


@dataclass(frozen=True, slots=True)
class JudgeAnswer:
    """A judge's answer text, the tokens it reports in ``usage`` (``None`` when it reports none) and what
    the call cost (``None`` without a price for the model or token counts)."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


class LLMClient:
    """Sends one chat prompt to an OpenAI-compatible endpoint and returns the answer text (with its token
    usage and cost from :meth:`answer`)."""

    def __init__(self, model: str, base_url: str | None, api_key_env: str,
                 price: ModelPrice | None = None) -> None:
        self.model = model
        self.price = price
        """What this model costs (``judge.prices``), if configured."""
        self._base_url = base_url
        self._api_key_env = api_key_env
        self._url = ""
        self._proxy: str | None = None
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created on first use: the key may be set after the config is loaded, and an aiohttp session
        # belongs to the running event loop.
        if self._session is None:
            api_key = os.environ.get(self._api_key_env)
            if not api_key:
                raise FatalScorerError(f"environment variable {self._api_key_env} (judge API key) is not set")
            base_url = self._base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
            self._url = base_url.rstrip("/") + "/chat/completions"
            self._proxy = env_proxy(self._url)
            self._session = aiohttp.ClientSession(
                headers=_request_headers(api_key),
                timeout=REQUEST_TIMEOUT,
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
            )
        return self._session

    async def aclose(self) -> None:
        """Close the HTTP connections of the client, if one was created."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def complete(self, prompt: str) -> str:
        """The judge's answer to ``prompt``; raises Transient/Fatal/ScorerCrashedError on vendor errors."""
        return (await self.answer(prompt)).text

    async def answer(self, prompt: str) -> JudgeAnswer:
        """:meth:`complete` with the call's token usage and cost."""
        session = self._get_session()
        payload = json.dumps(
            {"model": self.model, "messages": [{"role": "user", "content": prompt}], "temperature": 0}
        )
        try:
            # Under opentelemetry-instrument, judge calls must not become spans: a rule on chat spans would
            # score the judge's own calls, forever. (Covers instrumentations that honor suppression.)
            with suppress_instrumentation():
                async with session.post(self._url, data=payload, proxy=self._proxy) as response:
                    status = response.status
                    body = await _read_capped(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientScorerError(f"judge unreachable: {_describe(exc)}") from None
        if len(body) > MAX_ANSWER_BYTES:
            raise ScorerCrashedError(f"judge answered with over {MAX_ANSWER_BYTES} bytes (HTTP {status})")
        if not 200 <= status < 300:
            raise classify_status(status, vendor_error_message(body))
        return judge_answer(body, self.price)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """The body, or its first ``MAX_ANSWER_BYTES + 1`` bytes: never more in memory than that."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            break
    return bytes(body)


def env_proxy(url: str) -> str | None:
    """The proxy that ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` name for ``url``, unless ``NO_PROXY``
    exempts its host.

    Read once per client: aiohttp's own ``trust_env`` looks the environment (and ``~/.netrc``) up again on
    every request, in an executor thread, which cost more CPU than the rest of a judge call.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def judge_answer(body: bytes, price: ModelPrice | None) -> JudgeAnswer:
    """The answer text of a chat completion body, its ``usage`` token counts, and their cost at ``price``."""
    text = answer_text(body)
    usage = json.loads(body).get("usage")  # answer_text checked it is a JSON object
    if not isinstance(usage, dict):
        return JudgeAnswer(text)
    input_tokens, output_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not (_token_count(input_tokens) and _token_count(output_tokens)):
        return JudgeAnswer(text)
    cost = price.cost(input_tokens, output_tokens) if price is not None else None
    return JudgeAnswer(text, input_tokens, output_tokens, cost)


def _token_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def answer_text(body: bytes) -> str:
    """The first choice's message text of a chat completion body (``""`` when it has no text)."""
    try:
        data = json.loads(body)
    except ValueError:
        raise TransientScorerError(f"judge answered with a body that is not JSON: {body[:120]!r}") from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise TransientScorerError(f"judge answered without a choices list: {body[:120]!r}")
    if not choices:
        raise TransientScorerError("judge returned no choices")
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def vendor_error_message(body: bytes) -> str:
    """The vendor's explanation in an error body: ``error.message`` plus its type/code, else the raw text."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return body.decode("utf-8", "replace").strip() or "(empty body)"
    kinds = sorted({str(error[k]) for k in ("type", "code") if error.get(k)})
    suffix = f" ({', '.join(kinds)})" if kinds else ""
    return f"{error.get('message') or 'no message'}{suffix}"


def classify_status(status: int, message: str, code: str = "") -> Exception:
    """Map a vendor's HTTP error status onto the retry/pause decision of the scoring contract.

    401/402/403 and ``insufficient_quota`` pause the scorer (:class:`FatalScorerError`); 408, 429 and
    5xx are retried (:class:`TransientScorerError`); any other status means the request itself is wrong
    (:class:`ScorerCrashedError`). ``message`` (the vendor's words) goes into the error's reason.
    """
    text = f"judge answered HTTP {status}: {message[:_MESSAGE_LIMIT]}"
    if status in _FATAL_STATUS or code == "insufficient_quota" or "insufficient_quota" in text:
        return FatalScorerError(text)
    if status in _TRANSIENT_STATUS or status >= 500:
        return TransientScorerError(text)
    return ScorerCrashedError(text)


def classify_openai_error(exc: openai.APIError) -> Exception:
    """Map an ``openai`` exception (the embedding client's) like :func:`classify_status` does."""
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return TransientScorerError(f"judge unreachable: {type(exc).__name__}")
    if isinstance(exc, openai.APIStatusError):
        return classify_status(exc.status_code, str(exc.message), str(getattr(exc, "code", "") or ""))
    return TransientScorerError(f"judge error: {exc}")


def _request_headers(api_key: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    # The same optional account headers the openai client sends from its environment variables.
    for env, header in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")):
        if value := os.environ.get(env):
            headers[header] = value
    return headers


def _describe(exc: BaseException) -> str:
    detail = str(exc)
    return f"{type(exc).__name__}: {detail[:_MESSAGE_LIMIT]}" if detail else type(exc).__name__
