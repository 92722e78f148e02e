"""Vector arithmetic for behavior grouping (the embedders live in
:mod:`~evaluator_service.behaviors.local_embedders` and :mod:`~evaluator_service.behaviors.embedding`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

Vector = list[float]


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
