"""Offline embedders for behavior grouping, on well-kept libraries; nothing is downloaded at run time.

- :class:`WordLlamaEmbedder` (the default): WordLlama's ``l2_supercat`` static token embeddings (256
  dimensions, distilled from LLM embedding tables), whose weights and tokenizer ship inside the ``wordllama``
  wheel. Mean-pooled and L2-normalized: paraphrases ("refused a refund" / "declined to reimburse") land
  near each other, which hashed words cannot do.
- :class:`HashingEmbedder` (the floor): scikit-learn's ``HashingVectorizer`` over word uni/bigrams and
  character 3-5-grams, stateless (so every replica vectorizes alike without a fitted vocabulary).

Both load lazily on the first failure (the evaluator starts as fast without them) and embed in a worker
thread, so the event loop never waits on the model.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from evaluator_service.behaviors.vectors import Vector, normalized

logger = logging.getLogger(__name__)

WORDLLAMA_SPACE = "local:wordllama-l2-supercat-256"
HASHING_SPACE = "local:sklearn-hashing-v1"


class _LazyModel:
    """Builds the model once, on first use, in a worker thread; thread-safe."""

    space = ""
    default_threshold = 1.0
    merge_similarity = 1.0

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        raise NotImplementedError

    def _vectorize(self, model: Any, text: str) -> Vector:
        raise NotImplementedError

    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._build()
            return self._model

    def vectorize(self, text: str) -> Vector:
        """``text``'s unit vector (blocking: loads the model the first time)."""
        return self._vectorize(self.model(), text)

    async def embed(self, text: str) -> Vector:
        return await asyncio.to_thread(self.vectorize, text)

    async def warm_up(self) -> None:
        try:
            await asyncio.to_thread(self.model)
        except Exception as exc:  # embed() raises it again, per span, where it is counted
            logger.warning("loading the %s embedding model failed: %s", self.space, exc)

    async def aclose(self) -> None:
        return None


class WordLlamaEmbedder(_LazyModel):
    """WordLlama ``l2_supercat`` 256-d static embeddings, loaded from the installed package only."""

    space = WORDLLAMA_SPACE
    default_threshold = 0.75
    merge_similarity = 0.7

    def _build(self) -> Any:
        import wordllama
        from wordllama import WordLlama

        # The wheel carries weights/ and tokenizers/; pointing the cache at the package makes WordLlama
        # find both there, and disable_download turns a missing file into an error instead of a fetch.
        return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)

    def _vectorize(self, model: Any, text: str) -> Vector:
        return normalized([float(v) for v in model.embed([text])[0]])


class HashingEmbedder(_LazyModel):
    """scikit-learn hashed word and character n-grams, 2048 dimensions, L2-normalized."""

    space = HASHING_SPACE
    default_threshold = 0.6
    merge_similarity = 0.65

    def _build(self) -> Any:
        from sklearn.feature_extraction.text import HashingVectorizer

        words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), stop_words="english",
                                  n_features=1024, alternate_sign=False, norm="l2")
        chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=1024,
                                  alternate_sign=False, norm="l2")
        return words, chars

    def _vectorize(self, model: Any, text: str) -> Vector:
        words, chars = model
        dense = [*words.transform([text]).toarray()[0], *chars.transform([text]).toarray()[0]]
        return normalized([float(v) for v in dense])
