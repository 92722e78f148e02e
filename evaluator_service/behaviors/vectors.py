"""Vector arithmetic for behavior grouping, and the deterministic local vectorizer.

:class:`HashingVectorizer` is the fallback when no embedding endpoint is configured: word unigrams and
character trigrams hashed (FNV-1a, stable across processes and replicas, unlike Python's ``hash``) into a
fixed number of dimensions, L2-normalized. Pure Python, no model download; good enough to tell "pattern
not found" apart from "personal data found: email", not to understand paraphrases.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

Vector = list[float]

LOCAL_SPACE = "local:hash-v1"
"""Name of the local vectorizer's vector space; stored with every behavior so spaces never mix."""

_WORD = re.compile(r"[a-z0-9']+")
_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619


def _fnv1a(text: str) -> int:
    value = _FNV_OFFSET
    for byte in text.encode():
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


class HashingVectorizer:
    """Text → unit vector of ``dims`` hashed word and character-trigram counts (words weigh double)."""

    space = LOCAL_SPACE

    def __init__(self, dims: int = 512) -> None:
        self.dims = dims

    def vectorize(self, text: str) -> Vector:
        """A deterministic unit vector for ``text`` (all zeros for text without letters or digits)."""
        vec = [0.0] * self.dims
        words = _WORD.findall(text.lower())
        for word in words:
            vec[_fnv1a("w:" + word) % self.dims] += 2.0
            padded = f" {word} "
            for i in range(len(padded) - 2):
                vec[_fnv1a("c:" + padded[i : i + 3]) % self.dims] += 1.0
        return normalized(vec)


def normalized(vec: Sequence[float]) -> Vector:
    """``vec`` scaled to unit length (unchanged if it is all zeros)."""
    norm = math.sqrt(sum(v * v for v in vec))
    return [v / norm for v in vec] if norm else list(vec)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0.0 for vectors of different length or a zero vector."""
    if len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def nearest(vec: Sequence[float], candidates: Sequence[tuple[str, Sequence[float]]]
            ) -> tuple[str | None, float]:
    """The id of the candidate most similar to ``vec`` and that similarity (``None``, -1.0 if none)."""
    best_id, best = None, -1.0
    for candidate_id, centroid in candidates:
        similarity = cosine(vec, centroid)
        if similarity > best:
            best_id, best = candidate_id, similarity
    return best_id, best
