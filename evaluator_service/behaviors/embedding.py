"""Turning failure text into vectors: an OpenAI-compatible ``/v1/embeddings`` endpoint, or an offline
embedder of :mod:`evaluator_service.behaviors.local_embedders` (``embedding.local``: ``wordllama``, the
default, or ``hashing``) when no endpoint is configured.

The embedding client is a plain ``openai.AsyncOpenAI`` with its own retries off (behavior placement makes
one call per failing score, far fewer than judges make, so the SDK's per-call cost does not matter here),
called with instrumentation suppressed so the evaluator's own calls never become spans it would then
score. Vendor errors are mapped with the judges' rules (:func:`classify_openai_error`).
"""

from __future__ import annotations

import os
from typing import Protocol

import openai
from opentelemetry.instrumentation.utils import suppress_instrumentation

from evaluator_service.behaviors.local_embedders import HashingEmbedder, WordLlamaEmbedder
from evaluator_service.behaviors.settings import LOCAL_HASHING, ModelEndpoint
from evaluator_service.behaviors.vectors import Vector
from evaluator_service.scoring.contract import FatalScorerError, TransientScorerError
from evaluator_service.scoring.llm_client import classify_openai_error


class Embedder(Protocol):
    """Text → vector. ``space`` names the vector space; vectors of different spaces are never compared."""

    space: str
    default_threshold: float
    """The similarity threshold used when ``behaviors.similarity_threshold`` is not set (measured on the
    labeled set of benchmarks/behaviors_quality.py)."""
    merge_similarity: float
    """Least cosine similarity between two centroids the re-clustering pass merges (measured likewise)."""

    async def embed(self, text: str) -> Vector:
        """The vector of ``text``; raises on failure (the caller exports the span without a behavior)."""
        ...

    async def warm_up(self) -> None:
        """Load what the first ``embed`` would (a model); never raises (``embed`` reports failures)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible endpoint; each request times out after ``timeout_s``."""

    default_threshold = 0.8
    merge_similarity = 0.75

    def __init__(self, endpoint: ModelEndpoint, timeout_s: float) -> None:
        if not endpoint.model:
            raise ValueError("an embedding model is required")
        self.model = endpoint.model
        self.space = f"openai:{endpoint.model}"
        self._endpoint = endpoint
        self._timeout_s = timeout_s
        self._client: openai.AsyncOpenAI | None = None

    def _get_client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            api_key = os.environ.get(self._endpoint.api_key_env)
            if not api_key:
                raise FatalScorerError(f"environment variable {self._endpoint.api_key_env} "
                                       "(embedding API key) is not set")
            self._client = openai.AsyncOpenAI(api_key=api_key, base_url=self._endpoint.base_url,
                                              max_retries=0, timeout=self._timeout_s)
        return self._client

    async def embed(self, text: str) -> Vector:
        client = self._get_client()
        try:
            with suppress_instrumentation():
                response = await client.embeddings.create(model=self.model, input=[text])
        except openai.APIError as exc:
            raise classify_openai_error(exc) from None
        if not response.data:
            raise TransientScorerError("embedding endpoint returned no vectors")
        return [float(v) for v in response.data[0].embedding]

    async def warm_up(self) -> None:
        return None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def create_embedder(endpoint: ModelEndpoint, assign_timeout_s: float) -> Embedder:
    """The endpoint's embedder when a model is configured, else the offline one ``endpoint.local`` names.

    Requests time out after twice the assignment timeout: a hanging endpoint shows up as an assignment
    ``timeout``, and the call left running in the background ends soon after."""
    if endpoint.model:
        return OpenAIEmbedder(endpoint, 2 * assign_timeout_s)
    return HashingEmbedder() if endpoint.local == LOCAL_HASHING else WordLlamaEmbedder()
